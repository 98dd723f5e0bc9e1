import { pino } from 'pino';
import {
  DirectoryPublisher,
  EventAppender,
  FluxMetrics,
  guardStartup,
  handleShutdown,
  loadOrExit,
  parseClusterSettings,
  ReducerGroup,
} from '@flux/core';
import { partitionsOfShard } from '@flux/domain';
import { MemoryChangeFeed } from '@flux/embedded';
import { createStateServiceServer } from '@flux/grpc';
import { KafkaEventLog } from '@flux/kafka';
import { connectRedis, RedisControlStore, RedisStateStore } from '@flux/redis';

/**
 * A reducer shard: owns the partitions p with p % SHARD_COUNT === SHARD_INDEX, applies them
 * from Kafka into Redis exactly once, and serves them over gRPC. Shard 0 also keeps the
 * flux-core/directory entity current.
 */
/** One HGET per owned partition this often: cheap next to the commits it protects. */
const CLAIM_CHECK_INTERVAL_MS = 2_000;

const settings = loadOrExit('flux-reducer', () => parseClusterSettings('reducer'));
const shard = settings.shard;
const logger = pino({ level: settings.logLevel, base: { service: 'flux-reducer', shard: shard.shardIndex } });
const started = guardStartup(logger, 'flux-reducer');

const log = await KafkaEventLog.open({
  brokers: settings.cluster.kafkaBrokers,
  clientId: `flux-reducer-${shard.shardIndex}`,
  topic: settings.cluster.kafkaTopic,
  partitionCount: settings.partitionCount,
  replicationFactor: settings.cluster.kafkaReplicationFactor,
  groupPrefix: `flux-reducer-${shard.shardIndex}`,
  logger: logger.child({ component: 'kafka' }),
});
const partitions = partitionsOfShard(shard.shardIndex, shard.shardCount, log.partitionCount);
const redis = await connectRedis(settings.cluster.redisUrl, { connectionName: `flux-reducer-${shard.shardIndex}` });
const store = new RedisStateStore({ client: redis, partitionCount: log.partitionCount, keyPrefix: settings.cluster.redisKeyPrefix });
// What this shard serves: reads and counts of its own partitions only.
const ownState = store.forPartitions(partitions);
const feed = new MemoryChangeFeed();
const metrics = new FluxMetrics();

let fail: (error: unknown) => void = () => {};
const failed = new Promise<never>((_, reject) => {
  fail = reject;
});
const reducers = new ReducerGroup({
  partitions,
  log,
  store,
  feed,
  logger: logger.child({ component: 'reducer' }),
  entityBound: settings.entityBound,
  onRefused: (reason) => metrics.eventsRefused(reason),
  onCommitted: (partition, _offset, events) => metrics.eventsApplied(partition, events),
  // A replaced shard that is idle stops within this long of waking (see PartitionReducer).
  claimCheckIntervalMs: CLAIM_CHECK_INTERVAL_MS,
  onFailure: (partition, error) => fail(new Error(`reducer of partition ${partition} failed`, { cause: error })),
});

const grpc = createStateServiceServer({
  reader: ownState,
  feed,
  partitions,
  partitionCount: log.partitionCount,
  logger: logger.child({ component: 'grpc' }),
});
const port = await grpc.listen(`${shard.grpcHost}:${shard.grpcPort}`);

let directory: DirectoryPublisher | undefined;
let control: RedisControlStore | undefined;
if (shard.shardIndex === 0) {
  const controlStore = await RedisControlStore.open({ client: redis, keyPrefix: settings.cluster.redisKeyPrefix });
  control = controlStore;
  directory = new DirectoryPublisher({
    reader: store,
    appender: new EventAppender(log),
    logger: logger.child({ component: 'directory' }),
    ...(settings.authEnabled ? { registeredNamespaces: async () => (await controlStore.listNamespaces()).map((ns) => ns.name) } : {}),
  });
}

handleShutdown(
  logger,
  async () => {
    await directory?.stop();
    await grpc.shutdown();
    await reducers.stop();
    await control?.close();
    await store.close();
    await log.close();
    await redis.quit();
  },
  failed,
  settings.shutdownTimeoutMs,
);

logger.info({ partitions, grpcPort: port }, 'reducer shard starting: claiming partitions and catching up');
await reducers.start();
grpc.setReady();
directory?.start();
logger.info({ partitions, grpcPort: port }, 'reducer shard ready');
started();
