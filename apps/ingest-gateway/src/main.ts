import { pino } from 'pino';
import { buildServer } from '@flux/api';
import {
  ClosingOrder,
  composeGatewayServices,
  composeIngestRole,
  composeWaits,
  ConnectorService,
  OAuthTokenEndpoint,
  CredentialVault,
  SourceService,
  FluxMetrics,
  guardStartup,
  handleShutdown,
  loadOrExit,
  parseClusterSettings,
} from '@flux/core';
import { ConnectorRuntime, configuredConnectors, connectorDefinitions, SourceTargets } from '@flux/connectors';
import { createShardRouter, GrpcChangeFeed, ShardedStateReader } from '@flux/grpc';
import { clusterLogOptions, KafkaEventLog } from '@flux/kafka';
import { connectRedis, RedisControlStore, RedisReducerRegistry, RedisPollLease, RedisRateLimiter, RedisStateStore } from '@flux/redis';
import packageJson from '../package.json' with { type: 'json' };

/**
 * The ingest gateway: validates, authorises and rate-limits events and deletions exactly as
 * the embedded server does, and answers once Kafka acknowledged them (acks=all). It also runs
 * the connectors: a Redis lease makes exactly one replica poll each credential.
 */
const settings = loadOrExit('flux-ingest-gateway', () => parseClusterSettings('ingest-gateway'));
const connectorSet = loadOrExit('flux-ingest-gateway', () => configuredConnectors(settings, process.env));
const logger = pino({ level: settings.logLevel, base: { service: 'flux-ingest-gateway' } });
const started = guardStartup(logger, 'flux-ingest-gateway');

const closing = new ClosingOrder(logger);
const log = await KafkaEventLog.open({
  ...clusterLogOptions(settings),
  clientId: 'flux-ingest-gateway',
  logger: logger.child({ component: 'kafka' }),
});
closing.add('Kafka', () => log.close());
const redis = await connectRedis(settings.cluster.redis, { connectionName: 'flux-ingest-gateway' });
closing.add('Redis', () => redis.quit());
const control = await RedisControlStore.open({ client: redis, keyPrefix: settings.cluster.redisKeyPrefix });
closing.add('control store', () => control.close());
const router = createShardRouter({
  assignment: settings.cluster.reducerAssignment,
  addresses: settings.shardAddresses,
  map: new RedisReducerRegistry({ client: redis, keyPrefix: settings.cluster.redisKeyPrefix }),
  partitionCount: log.partitionCount,
  logger: logger.child({ component: 'routing' }),
});
closing.add('shard router', () => router.close());
// Writes that wait (wait=applied, conditional writes) learn their events' outcomes from the
// shards' commits: one Watch stream per shard carrying each commit's progress and outcomes (no
// property values). What a stream misses while it is down is read back from Redis.
const outcomes = new GrpcChangeFeed({
  router,
  outcomesOnly: true,
  logger: logger.child({ component: 'outcome-feed' }),
});
closing.add('outcome feed', () => outcomes.close());
const redisState = new RedisStateStore({ client: redis, partitionCount: log.partitionCount, keyPrefix: settings.cluster.redisKeyPrefix });
const applied = composeWaits(
  { settings, source: outcomes, store: redisState, history: redisState, partitionCount: log.partitionCount, logger },
  closing,
);

const metrics = new FluxMetrics();
// Batch deletes by prefix or namespace, and connectors, need to know which entities exist.
const reader = new ShardedStateReader({ router, observer: metrics.shardCallObserver() });

const services = await composeGatewayServices(settings, control, logger, closing);
const { ingest, deletion } = composeIngestRole({
  settings,
  services,
  log,
  rateLimiter: new RedisRateLimiter({ client: redis, keyPrefix: settings.cluster.redisKeyPrefix }),
  reader,
  metrics,
  logger,
  applied,
});

const vault = new CredentialVault(settings.encryptionKey);
const sources = new SourceService(control, vault, settings.sources);
const connectorRuntime = new ConnectorRuntime({
  connectors: connectorSet,
  control,
  // Expiring OAuth tokens are refreshed where they are used: in the connector runtime.
  credentials: new ConnectorService(
    control,
    vault,
    connectorDefinitions(connectorSet),
    Date.now,
    settings.github.oauth === undefined ? undefined : new OAuthTokenEndpoint(settings.github.oauth),
  ),
  sources: new SourceTargets({
    control,
    secretOf: (source) => sources.secretOf(source),
    ...settings.sources,
  }),
  ingest,
  state: reader,
  lease: new RedisPollLease({ client: redis, keyPrefix: settings.cluster.redisKeyPrefix }),
  logger: logger.child({ component: 'connectors' }),
  publicMode: settings.authEnabled,
});

const deps = {
  ...services,
  metrics,
  ingest,
  deletion,
  readiness: async () => {
    try {
      await redis.ping();
      return { ready: true };
    } catch {
      return { ready: false, reason: 'Redis unreachable' };
    }
  },
};
const { app, close: closeServer } = await buildServer({ system: deps, ingest: deps }, { logger, version: packageJson.version, http: settings.http });
closing.add('HTTP server', closeServer);
closing.add('connectors', () => connectorRuntime.stop());
handleShutdown(logger, () => closing.close(), undefined, settings.shutdownTimeoutMs);

const url = await app.listen({ port: settings.port, host: settings.host });
connectorRuntime.start();
logger.info({ url, partitions: log.partitionCount, mode: settings.authEnabled ? 'public' : 'internal' }, 'ingest gateway listening');
started();
