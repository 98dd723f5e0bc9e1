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
import { createStateServiceServer, ServingStatus, type PartitionOwnership } from '@flux/grpc';
import { clusterLogOptions, KafkaEventLog } from '@flux/kafka';
import { connectRedis, RedisControlStore, RedisReducerRegistry, RedisStateStore } from '@flux/redis';

/**
 * A reducer: applies partitions from Kafka into Redis exactly once and serves them over gRPC.
 * Which partitions: with static assignment those p with p % SHARD_COUNT === SHARD_INDEX; with
 * elastic assignment its share among the live reducers, handed over as reducers come and go
 * (see ElasticReducers), published in the partition map gateways route by. Shard 0, or the
 * owner of partition 0, keeps the flux-core/directory entity current. Its metrics, liveness
 * and readiness are served over HTTP on FLUX_METRICS_PORT.
 */
/** One HGET per owned partition this often: cheap next to the commits it protects. */
const CLAIM_CHECK_INTERVAL_MS = 2_000;

/** An IPv6 pod IP (from the downward API, bare) needs brackets in host:port. */
const bracketIpv6 = (host: string): string => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

const settings = loadOrExit('flux-reducer', () => parseClusterSettings('reducer'));
const shard = settings.shard;
const elastic = shard.elastic;
const name = elastic === undefined ? `flux-reducer-${shard.shardIndex}` : `flux-reducer-${elastic.memberId}`;
const logger = pino({
  level: settings.logLevel,
  base: elastic === undefined ? { service: 'flux-reducer', shard: shard.shardIndex } : { service: 'flux-reducer', member: elastic.memberId },
});
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
  clientId: name,
  groupPrefix: name,
  logger: logger.child({ component: 'kafka' }),
});
closing.add('Kafka', () => log.close());
const redis = await connectRedis(settings.cluster.redis, { connectionName: name });
closing.add('Redis', () => redis.quit());
const store = new RedisStateStore({
  client: redis,
  partitionCount: log.partitionCount,
  keyPrefix: settings.cluster.redisKeyPrefix,
  changeRetentionOffsets: settings.changeRetentionOffsets,
});
closing.add('state store', () => store.close());
// Shard 0 (elastic: every reducer, the owner of partition 0 publishing) keeps the directory
// entity; in public mode it lists the registered namespaces.
const control =
  elastic !== undefined || shard.shardIndex === 0
    ? await RedisControlStore.open({ client: redis, keyPrefix: settings.cluster.redisKeyPrefix })
    : undefined;
if (control !== undefined) closing.add('control store', () => control.close());
const feed = new MemoryChangeFeed();

const assignment =
  elastic === undefined
    ? { partitions: partitionsOfShard(shard.shardIndex, shard.shardCount, log.partitionCount) }
    : {
        elastic: {
          registry: new RedisReducerRegistry({ client: redis, keyPrefix: settings.cluster.redisKeyPrefix }),
          // GRPC_PORT is a fixed port with elastic assignment (see the settings).
          member: { id: elastic.memberId, address: `${bracketIpv6(elastic.advertisedHost)}:${shard.grpcPort}` },
          partitionCount: log.partitionCount,
          leaseMs: elastic.leaseMs,
        },
      };
const partitions = 'partitions' in assignment ? assignment.partitions : undefined;

// Elastic: the gRPC server answers for the partitions applied here now, and keeps serving while
// the reducers hand theirs over at shutdown (it closes after them, being registered before).
let ownership: PartitionOwnership = { owns: () => false, partitions: () => [] };
const grpc = createStateServiceServer({
  // What this shard serves: reads and counts of its own partitions only (elastic: the server
  // checks ownership per request, and lists and counts read exactly the partitions asked for).
  reader: partitions === undefined ? store : store.forPartitions(partitions),
  readerFor: (requested) => store.forPartitions(requested),
  feed,
  ...(partitions === undefined
    ? { ownership: { owns: (partition: number) => ownership.owns(partition), partitions: () => ownership.partitions() } }
    : { partitions }),
  partitionCount: log.partitionCount,
  logger: logger.child({ component: 'grpc' }),
});
const port = await grpc.listen(`${shard.grpcHost}:${shard.grpcPort}`);
closing.add('gRPC server', () => grpc.shutdown());

const reducing = composeReducerRole(
  {
    settings,
    ...assignment,
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

const { reducers } = reducing;
ownership = { owns: (partition) => reducers.owns(partition), partitions: () => reducers.ownedPartitions() };
serving = () => grpc.health.get('') === ServingStatus.SERVING;
handleShutdown(logger, () => closing.close(), reducing.failed, settings.shutdownTimeoutMs);

const ports = { grpcPort: port, metricsPort: metricsServer.port };
logger.info({ partitions: partitions ?? 'elastic', ...ports }, 'reducer shard starting: claiming partitions and catching up');
await reducing.start();
grpc.setReady();
logger.info({ partitions: partitions ?? reducers.ownedPartitions(), ...ports }, 'reducer shard ready');
started();
