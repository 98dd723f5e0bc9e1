import { pino } from 'pino';
import { buildServer, ingestGatewayReady, registerStaleHeader } from '@flux/api';
import {
  adminTokenWarning,
  ActivityTracker,
  Authorizer,
  CatchingUpFeed,
  ConnectorService,
  CredentialVault,
  DeletionService,
  EventAppender,
  FallbackStateReader,
  FluxMetrics,
  guardStartup,
  handleShutdown,
  loadOrExit,
  NamespaceService,
  parseClusterSettings,
  RuntimeConfigService,
} from '@flux/core';
import { configuredConnectors, connectorDefinitions } from '@flux/connectors';
import { closeShardClients, createShardClients, GrpcChangeFeed, ShardedStateReader } from '@flux/grpc';
import { KafkaEventLog } from '@flux/kafka';
import { connectRedis, RedisControlStore, RedisGatewayPresence, RedisStateStore } from '@flux/redis';
import packageJson from '../package.json' with { type: 'json' };

/**
 * A query gateway: REST reads routed to the shard that owns each entity, lists fanned out
 * to every shard, the WebSocket change feed fanned in from every shard, namespaces, admin
 * config and connectors from Redis, and the write routes forwarded to the ingest gateway,
 * so that any replica serves the whole API at one address.
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

const redis = await connectRedis(settings.cluster.redisUrl, { connectionName: 'flux-query-gateway' });
const control = await RedisControlStore.open({ client: redis, keyPrefix: settings.cluster.redisKeyPrefix });
const shards = createShardClients(settings.gateway!.shardAddresses);
const shardReader = new ShardedStateReader({ shards, partitionCount: settings.partitionCount, deadlineMs: SHARD_READ_DEADLINE_MS });
// The state the shards serve is in Redis: while a shard is down or restarting, reads of its
// entities are served from there, possibly behind the log (Flux-Stale: true).
const redisState = new RedisStateStore({ client: redis, partitionCount: settings.partitionCount, keyPrefix: settings.cluster.redisKeyPrefix });
const reader = new FallbackStateReader({
  primary: shardReader,
  fallback: redisState,
  onFallback: (operation, error) => logger.debug({ operation, err: error }, 'shard unavailable; read served from Redis'),
});
const feed = new GrpcChangeFeed({ shards, partitionCount: settings.partitionCount, logger: logger.child({ component: 'change-feed' }) });
// WebSocket clients follow the shards' changes with the gaps of a shard's stream being down
// made good from Redis.
const subscriberFeed = new CatchingUpFeed({
  source: feed,
  catchUp: redisState,
  partitionCount: settings.partitionCount,
  logger: logger.child({ component: 'catch-up' }),
});
const presence = new RedisGatewayPresence({ client: redis, keyPrefix: settings.cluster.redisKeyPrefix });

const metrics = new FluxMetrics({ entities: async () => (await reader.counts()).total });
const activity = new ActivityTracker();
const stopActivity = feed.subscribe((changes) => activity.record(changes));
const warning = adminTokenWarning(settings);
if (warning !== undefined) logger.warn(warning);
const authorizer = new Authorizer({ authEnabled: settings.authEnabled, adminToken: settings.adminToken, control });
const runtimeConfig = await RuntimeConfigService.load(control, settings.initialRuntimeConfig, logger);
// A deleted namespace's entities get tombstones appended by this gateway itself (the admin
// token cannot write through the ingest gateway), over a Kafka producer opened on first use:
// reads never need it.
let tombstones: Promise<{ log: KafkaEventLog; appender: EventAppender }> | undefined;
const openTombstones = (): Promise<{ log: KafkaEventLog; appender: EventAppender }> => {
  tombstones ??= KafkaEventLog.open({
    brokers: settings.cluster.kafkaBrokers,
    clientId: 'flux-query-gateway',
    topic: settings.cluster.kafkaTopic,
    partitionCount: settings.partitionCount,
    replicationFactor: settings.cluster.kafkaReplicationFactor,
    logger: logger.child({ component: 'kafka' }),
  }).then(
    (log) => ({ log, appender: new EventAppender(log) }),
    (error: unknown) => {
      tombstones = undefined; // the next deletion tries again
      throw error;
    },
  );
  return tombstones;
};
const deletion = new DeletionService({
  ingest: { appendEvents: async (events) => (await openTombstones()).appender.append(events) },
  reader,
  authorizer,
  maxBatchDelete: settings.maxBatchDelete,
});
const namespaces = new NamespaceService(control, reader, Date.now, async (name) => {
  await deletion.deleteNamespace(name);
});
// The same definitions as the ingest gateway that runs them, so status reads agree.
const connectors = new ConnectorService(control, new CredentialVault(settings.encryptionKey), connectorDefinitions(connectorSet));

let connectedOnce = false;
const deps = {
  authorizer,
  runtimeConfig,
  metrics,
  reader,
  namespaces,
  connectors,
  feed: subscriberFeed,
  activity,
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
    if (!feed.connectedShards.every(Boolean)) return { ready: false, reason: 'change feed not connected to every shard' };
    if (!(await ingestGatewayReady(settings.gateway!.ingestUrl!))) return { ready: false, reason: 'ingest gateway unreachable' };
    connectedOnce = true;
    return { ready: true };
  },
};
const { app } = await buildServer(
  { system: deps, query: deps, ingest: { forwardTo: settings.gateway!.ingestUrl! } },
  { logger, version: packageJson.version, http: settings.http },
);
registerStaleHeader(app);

handleShutdown(logger, async () => {
  await app.close();
  stopActivity();
  feed.close();
  await presence.close();
  runtimeConfig.close();
  closeShardClients(shards);
  await (await tombstones?.catch(() => undefined))?.log.close();
  await control.close();
  await redis.quit();
}, undefined, settings.shutdownTimeoutMs);

const url = await app.listen({ port: settings.port, host: settings.host });
logger.info({ url, shards: settings.gateway!.shardAddresses.length }, 'query gateway listening');
started();
