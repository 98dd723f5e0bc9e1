import { ConfigError, EnvReader, readSettings, type Env, type Settings } from './settings.js';

/** Where the distributed topology keeps its log and its state. */
export interface ClusterSettings {
  readonly kafkaBrokers: readonly string[];
  readonly kafkaTopic: string;
  /** Replication factor used when the topic is created. */
  readonly kafkaReplicationFactor: number;
  readonly redisUrl: string;
  /** Prefix of every Redis key, so several deployments can share one Redis. */
  readonly redisKeyPrefix: string;
}

/** One reducer shard: it owns the partitions p with p % shardCount === shardIndex. */
export interface ShardSettings {
  readonly shardIndex: number;
  readonly shardCount: number;
  readonly grpcHost: string;
  readonly grpcPort: number;
}

/** How gateways reach the shards (index = shard) and, for query gateways, the ingest gateway. */
export interface GatewaySettings {
  readonly shardAddresses: readonly string[];
  readonly ingestUrl: string | undefined;
}

export type ClusterRole = 'reducer' | 'ingest-gateway' | 'query-gateway';

export interface ClusterProcessSettings extends Settings {
  readonly cluster: ClusterSettings;
  readonly shard: ShardSettings | undefined;
  readonly gateway: GatewaySettings | undefined;
}

function required(read: EnvReader, name: string): string {
  const value = read.optionalString(name);
  if (value === undefined) read.problems.push(`${name} is required`);
  return value ?? '';
}

const ADDRESS = /^[^\s:]+:\d{1,5}$/;

/** Parses the environment of one process of the distributed topology; throws a ConfigError naming every bad variable. */
export function parseClusterSettings(role: ClusterRole, env: Env = process.env): ClusterProcessSettings {
  const read = new EnvReader(env);
  const base = readSettings(read);
  const brokers = required(read, 'KAFKA_BROKERS')
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
  if (brokers.some((broker) => !ADDRESS.test(broker))) read.problems.push('KAFKA_BROKERS must be host:port[,host:port...]');
  const redisUrl = required(read, 'REDIS_URL');
  if (redisUrl !== '' && !/^rediss?:\/\//.test(redisUrl)) read.problems.push('REDIS_URL must be a redis:// or rediss:// URL');
  const cluster: ClusterSettings = {
    kafkaBrokers: brokers,
    kafkaTopic: read.string('FLUX_KAFKA_TOPIC', 'flux-events'),
    kafkaReplicationFactor: read.integer('FLUX_KAFKA_REPLICATION_FACTOR', 1, 1, 16),
    redisUrl,
    redisKeyPrefix: read.string('FLUX_REDIS_KEY_PREFIX', 'flux:'),
  };

  let shard: ShardSettings | undefined;
  if (role === 'reducer') {
    const shardCount = read.integer('SHARD_COUNT', 1, 1, 1024);
    const shardIndex = read.integer('SHARD_INDEX', 0, 0, 1023);
    if (shardIndex >= shardCount) read.problems.push(`SHARD_INDEX must be below SHARD_COUNT (${shardCount}), got ${shardIndex}`);
    shard = {
      shardIndex,
      shardCount,
      grpcHost: read.string('GRPC_HOST', '0.0.0.0'),
      grpcPort: read.integer('GRPC_PORT', 50051, 0, 65_535),
    };
  }

  let gateway: GatewaySettings | undefined;
  if (role !== 'reducer') {
    const shardAddresses = required(read, 'FLUX_SHARD_ADDRESSES')
      .split(',')
      .map((address) => address.trim())
      .filter((address) => address !== '');
    if (shardAddresses.some((address) => !ADDRESS.test(address))) {
      read.problems.push('FLUX_SHARD_ADDRESSES must be host:port[,host:port...] in shard order');
    }
    const ingestUrl = role === 'query-gateway' ? read.url('FLUX_INGEST_URL', 'http://127.0.0.1:3001') : undefined;
    gateway = { shardAddresses, ingestUrl };
  }

  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return { ...base, cluster, shard, gateway };
}
