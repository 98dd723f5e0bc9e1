import { pino } from 'pino';
import { buildServer, ingestGatewayReady, registerStaleHeader, selfUrl } from '@flux/api';
import {
  CatchingUpFeed,
  ClosingOrder,
  composeGatewayServices,
  composeQueryRole,
  composeWaits,
  DeletionService,
  FallbackStateReader,
  FluxMetrics,
  guardStartup,
  handleShutdown,
  loadOrExit,
  parseClusterSettings,
} from '@flux/core';
import { configuredConnectors, connectorDefinitions } from '@flux/connectors';
import { createShardRouter, GrpcChangeFeed, ShardedStateReader } from '@flux/grpc';
import { mcpEndpoint } from '@flux/mcp';
import { connectRedis, RedisControlStore, RedisGatewayPresence, RedisReducerRegistry, RedisPeerRegistry, RedisStateStore } from '@flux/redis';
import packageJson from '../package.json' with { type: 'json' };
import { LazyTombstoneLog } from './lazy-tombstone-log.js';

/**
 * A query gateway: REST reads routed to the shard that owns each entity (statically, or by
 * the elastic reducers' partition map), lists fanned out to every shard, the WebSocket change
 * feed fanned in from every shard, namespaces, admin config and connectors from Redis, and the
 * write routes forwarded to the ingest gateway, so that any replica serves the whole API at one
 * address.
 */

/**
 * Deadline of a read from a shard: short, because a shard that does not answer in time is
 * read around (from Redis, marked Flux-Stale) instead of failing the request.
 */
const SHARD_READ_DEADLINE_MS = 1_000;

const settings = loadOrExit('flux-query-gateway', () => parseClusterSettings('query-gateway'));
const connectorSet = loadOrExit('flux-query-gateway', () => configuredConnectors(settings, process.env));
const logger = pino({ level: settings.logLevel, base: { service: 'flux-query-gateway' } });
const started = guardStartup(logger, 'flux-query-gateway');

const closing = new ClosingOrder(logger);
const redis = await connectRedis(settings.cluster.redis, { connectionName: 'flux-query-gateway' });
closing.add('Redis', () => redis.quit());
const control = await RedisControlStore.open({ client: redis, keyPrefix: settings.cluster.redisKeyPrefix });
closing.add('control store', () => control.close());
const router = createShardRouter({
  assignment: settings.cluster.reducerAssignment,
  addresses: settings.shardAddresses,
  map: new RedisReducerRegistry({ client: redis, keyPrefix: settings.cluster.redisKeyPrefix }),
  partitionCount: settings.partitionCount,
  logger: logger.child({ component: 'routing' }),
});
closing.add('shard router', () => router.close());
const metrics = new FluxMetrics({ entities: async (): Promise<number> => (await reader.counts()).total });
const shardReader = new ShardedStateReader({
  router,
  deadlineMs: SHARD_READ_DEADLINE_MS,
  observer: metrics.shardCallObserver(),
});
// The state the shards serve is in Redis: while a shard is down or restarting, reads of its
// entities are served from there, possibly behind the log (Flux-Stale: true).
const redisState = new RedisStateStore({ client: redis, partitionCount: settings.partitionCount, keyPrefix: settings.cluster.redisKeyPrefix });
const reader = new FallbackStateReader({
  primary: shardReader,
  fallback: redisState,
  onFallback: (operation, error) => logger.debug({ operation, err: error }, 'shard unavailable; read served from Redis'),
});
const feed = new GrpcChangeFeed({ router, logger: logger.child({ component: 'change-feed' }) });
closing.add('change feed', () => feed.close());
// WebSocket clients follow the shards' changes with the gaps of a shard's stream being down
// made good from Redis.
const subscriberFeed = new CatchingUpFeed({
  source: feed,
  catchUp: redisState,
  partitionCount: settings.partitionCount,
  logger: logger.child({ component: 'catch-up' }),
});
// Reads that must reflect a position (min_position) wait for the shards' commit progress on
// the same streams; what a stream misses while it is down, Redis says.
const applied = composeWaits({ settings, source: feed, store: redisState, partitionCount: settings.partitionCount, logger }, closing);
const presence = new RedisGatewayPresence({ client: redis, keyPrefix: settings.cluster.redisKeyPrefix });
closing.add('presence', () => presence.close());
const tombstones = new LazyTombstoneLog(settings, logger);
closing.add('Kafka', () => tombstones.close());

const services = await composeGatewayServices(settings, control, logger, closing);
// A deleted namespace's entities get tombstones appended by this gateway itself (the admin
// token cannot write through the ingest gateway).
const deletion = new DeletionService({ ingest: tombstones, reader, authorizer: services.authorizer, maxBatchDelete: settings.maxBatchDelete });
// The same connector definitions as the ingest gateway that runs them, so status reads agree.
const query = composeQueryRole({ settings, control, reader, feed, deletion, connectorDefinitions: connectorDefinitions(connectorSet) }, closing);

// MCP sessions live in the gateway that opened them; the others pass their requests on to it.
const peers = new RedisPeerRegistry({ client: redis, keyPrefix: settings.cluster.redisKeyPrefix });
closing.add('peer registry', () => peers.close());
const { mcp } = mcpEndpoint(settings.mcp, logger, packageJson.version, peers);

let connectedOnce = false;
const deps = {
  ...services,
  ...query,
  metrics,
  reader,
  feed: subscriberFeed,
  // Prefix subscriptions resume from the change records the reducers' commits keep in Redis.
  replay: redisState,
  applied,
  waitTimeoutMs: settings.wait.defaultTimeoutMs,
  partitionCount: settings.partitionCount,
  listMaxLimit: settings.listMaxLimit,
  websocket: { ...settings.websocket, totalConnections: (local: number) => presence.total(local) },
  readiness: async () => {
    // Strict until this replica has once been fully connected (so no WebSocket client misses
    // changes at start-up); afterwards a restarting shard or ingest gateway makes only the
    // requests that need it fail with 503, instead of taking every replica out of rotation.
    if (connectedOnce) {
      try {
        await redis.ping();
        return { ready: true };
      } catch {
        return { ready: false, reason: 'Redis unreachable' };
      }
    }
    try {
      await Promise.all([redis.ping(), shardReader.counts()]);
    } catch {
      return { ready: false, reason: 'Redis or a reducer shard is unreachable' };
    }
    if (!feed.connected) return { ready: false, reason: 'change feed not connected to every shard, or a partition has no reducer' };
    if (!(await ingestGatewayReady(settings.ingestUrl))) return { ready: false, reason: 'ingest gateway unreachable' };
    connectedOnce = true;
    return { ready: true };
  },
};
const { app, close: closeServer } = await buildServer(
  { system: deps, query: deps, ingest: { forwardTo: settings.ingestUrl }, ...(mcp === undefined ? {} : { mcp }) },
  { logger, version: packageJson.version, http: settings.http, dashboard: { publicMode: settings.authEnabled } },
);
registerStaleHeader(app);
closing.add('HTTP server', closeServer);
handleShutdown(logger, () => closing.close(), undefined, settings.shutdownTimeoutMs);

const url = await app.listen({ port: settings.port, host: settings.host });
if (mcp !== undefined) await peers.register(mcp.instanceId, selfUrl(app.server.address(), settings.advertisedHost));
logger.info({ url, reducers: settings.cluster.reducerAssignment, shards: router.targets().length }, 'query gateway listening');
started();
