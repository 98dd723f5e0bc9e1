import { pino } from 'pino';
import {
  ClosingOrder,
  composeReducerRole,
  EventAppender,
  FluxMetrics,
  guardStartup,
  handleShutdown,
  loadOrExit,
  MemoryChangeFeed,
  parseClusterSettings,
  startMetricsServer,
} from '@flux/core';
import { partitionsOfShard } from '@flux/domain';
import { createStateServiceServer, ServingStatus } from '@flux/grpc';
import { clusterLogOptions, KafkaEventLog } from '@flux/kafka';
import { connectRedis, RedisControlStore, RedisStateStore } from '@flux/redis';

/**
 * A reducer shard: owns the partitions p with p % SHARD_COUNT === SHARD_INDEX, applies them
 * from Kafka into Redis exactly once, and serves them over gRPC. Shard 0 also keeps the
 * flux-core/directory entity current. Its metrics, liveness and readiness are served over
 * HTTP on FLUX_METRICS_PORT.
 */
/** One HGET per owned partition this often: cheap next to the commits it protects. */
const CLAIM_CHECK_INTERVAL_MS = 2_000;

const settings = loadOrExit('flux-reducer', () => parseClusterSettings('reducer'));
const shard = settings.shard;
const logger = pino({ level: settings.logLevel, base: { service: 'flux-reducer', shard: shard.shardIndex } });
const started = guardStartup(logger, 'flux-reducer');

const closing = new ClosingOrder(logger);
const metrics = new FluxMetrics();
// Ready exactly when gRPC health is SERVING: claimed, caught up, and not draining.
let serving = (): boolean => false;
// First up and last closed: the lag can be watched during the catch-up, and scrapes and
// probes get answers while the rest drains.
const metricsServer = await startMetricsServer({
  registry: metrics.registry,
  readiness: () => (serving() ? { ready: true } : { ready: false, reason: 'claiming partitions, catching up or stopping' }),
  host: shard.grpcHost,
  port: shard.metricsPort,
});
closing.add('metrics server', () => metricsServer.close());
const log = await KafkaEventLog.open({
  ...clusterLogOptions(settings),
  clientId: `flux-reducer-${shard.shardIndex}`,
  groupPrefix: `flux-reducer-${shard.shardIndex}`,
  logger: logger.child({ component: 'kafka' }),
});
closing.add('Kafka', () => log.close());
const partitions = partitionsOfShard(shard.shardIndex, shard.shardCount, log.partitionCount);
const redis = await connectRedis(settings.cluster.redis, { connectionName: `flux-reducer-${shard.shardIndex}` });
closing.add('Redis', () => redis.quit());
const store = new RedisStateStore({
  client: redis,
  partitionCount: log.partitionCount,
  keyPrefix: settings.cluster.redisKeyPrefix,
  changeRetentionOffsets: settings.changeRetentionOffsets,
});
closing.add('state store', () => store.close());
// Shard 0 keeps the directory entity; in public mode it lists the registered namespaces.
const control = shard.shardIndex === 0 ? await RedisControlStore.open({ client: redis, keyPrefix: settings.cluster.redisKeyPrefix }) : undefined;
if (control !== undefined) closing.add('control store', () => control.close());
const feed = new MemoryChangeFeed();

const reducing = composeReducerRole(
  {
    settings,
    partitions,
    log,
    store,
    feed,
    metrics,
    logger,
    // A replaced shard that is idle stops within this long of waking (see PartitionReducer).
    claimCheckIntervalMs: CLAIM_CHECK_INTERVAL_MS,
    ...(control === undefined
      ? {}
      : {
          directory: {
            appender: new EventAppender(log),
            ...(settings.authEnabled ? { registeredNamespaces: async () => (await control.listNamespaces()).map((ns) => ns.name) } : {}),
          },
        }),
  },
  closing,
);

const grpc = createStateServiceServer({
  // What this shard serves: reads and counts of its own partitions only.
  reader: store.forPartitions(partitions),
  feed,
  partitions,
  partitionCount: log.partitionCount,
  logger: logger.child({ component: 'grpc' }),
});
const port = await grpc.listen(`${shard.grpcHost}:${shard.grpcPort}`);
closing.add('gRPC server', () => grpc.shutdown());
serving = () => grpc.health.get('') === ServingStatus.SERVING;
handleShutdown(logger, () => closing.close(), reducing.failed, settings.shutdownTimeoutMs);

const ports = { grpcPort: port, metricsPort: metricsServer.port };
logger.info({ partitions, ...ports }, 'reducer shard starting: claiming partitions and catching up');
await reducing.start();
grpc.setReady();
logger.info({ partitions, ...ports }, 'reducer shard ready');
started();
