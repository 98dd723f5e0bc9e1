import { hostname } from 'node:os';
import { readRedisConnection, type RedisConnectionSettings } from './redis-connection-settings.js';
import { readKafkaSecurity, type KafkaSecuritySettings } from './service-security.js';
import { ConfigError, EnvReader, readSettings, type Env, type Settings } from './settings.js';

/** Where the distributed topology keeps its log and its state. */
export interface ClusterSettings {
  readonly kafkaBrokers: readonly string[];
  readonly kafkaTopic: string;
  /** Replication factor used when the topic is created. */
  readonly kafkaReplicationFactor: number;
  /**
   * Whether a missing topic is created (FLUX_KAFKA_CREATE_TOPIC). Off for clusters where the
   * application may not create topics: then the topic must exist with FLUX_PARTITIONS partitions.
   */
  readonly kafkaCreateTopic: boolean;
  /** TLS and SASL towards the brokers. */
  readonly kafkaSecurity: KafkaSecuritySettings;
  /** REDIS_URL (also in `redis`). */
  readonly redisUrl: string;
  /** How to reach Redis: URL, credentials, TLS material, standalone / Cluster / Sentinel. */
  readonly redis: RedisConnectionSettings;
  /** Prefix of every Redis key, so several deployments can share one Redis. */
  readonly redisKeyPrefix: string;
  /**
   * How partitions find their reducer (FLUX_REDUCER_ASSIGNMENT, the same on every process):
   * `static`, shard i of SHARD_COUNT owns p % SHARD_COUNT === i and gateways list the shards in
   * FLUX_SHARD_ADDRESSES; `elastic`, reducers share the partitions among the live ones at run
   * time and gateways route by the partition map they publish in Redis.
   */
  readonly reducerAssignment: ReducerAssignment;
}

export type ReducerAssignment = 'static' | 'elastic';
const REDUCER_ASSIGNMENTS: readonly ReducerAssignment[] = ['static', 'elastic'];

/** A reducer's identity among the live reducers, with elastic assignment. */
export interface ElasticMemberSettings {
  /** FLUX_REDUCER_ID, unique among live reducers and stable across restarts (the pod name); default: the advertised address. */
  readonly memberId: string;
  /** FLUX_ADVERTISED_HOST: the host gateways dial (the pod IP); default GRPC_HOST, or the host name when that is 0.0.0.0. */
  readonly advertisedHost: string;
  /** FLUX_REDUCER_LEASE_MS: how long a silent reducer keeps its partitions before the others take them over. */
  readonly leaseMs: number;
}

/** One reducer shard: it owns the partitions p with p % shardCount === shardIndex. */
export interface ShardSettings {
  readonly shardIndex: number;
  readonly shardCount: number;
  /** Where the gRPC server and the metrics server (`/metrics`, `/health`, `/ready`) bind. */
  readonly grpcHost: string;
  readonly grpcPort: number;
  /** Port of the shard's HTTP metrics server (FLUX_METRICS_PORT). */
  readonly metricsPort: number;
  /** Set with elastic assignment (SHARD_INDEX and SHARD_COUNT are then not read). */
  readonly elastic: ElasticMemberSettings | undefined;
}

/** The reducer's metrics port unless FLUX_METRICS_PORT says otherwise (the OpenTelemetry Prometheus exporter's). */
export const DEFAULT_METRICS_PORT = 9464;

export type ClusterRole = 'reducer' | 'ingest-gateway' | 'query-gateway';

/** What every process of the distributed topology reads: the shared settings and where the log and state live. */
export interface ClusterProcessSettings extends Settings {
  readonly cluster: ClusterSettings;
}

export interface ReducerSettings extends ClusterProcessSettings {
  readonly shard: ShardSettings;
}

export interface IngestGatewaySettings extends ClusterProcessSettings {
  /** gRPC address of each reducer shard (index = shard); empty with elastic assignment. */
  readonly shardAddresses: readonly string[];
}

export interface QueryGatewaySettings extends IngestGatewaySettings {
  /** Where writes are forwarded. */
  readonly ingestUrl: string;
  /**
   * The address at which the other query gateways reach this one (they pass on requests of
   * its MCP sessions), e.g. the pod IP; default: the listening address (127.0.0.1 for 0.0.0.0).
   */
  readonly advertisedHost: string | undefined;
}

/** The settings type of each role: no optional parts, so a role's wiring needs no assertions. */
export interface ClusterRoleSettings {
  readonly reducer: ReducerSettings;
  readonly 'ingest-gateway': IngestGatewaySettings;
  readonly 'query-gateway': QueryGatewaySettings;
}

function required(read: EnvReader, name: string): string {
  const value = read.optionalString(name);
  if (value === undefined) read.problems.push(`${name} is required`);
  return value ?? '';
}

const ADDRESS = /^[^\s:]+:\d{1,5}$/;

function addressList(read: EnvReader, name: string, problem: string): string[] {
  const addresses = required(read, name)
    .split(',')
    .map((address) => address.trim())
    .filter((address) => address !== '');
  if (addresses.some((address) => !ADDRESS.test(address))) read.problems.push(problem);
  return addresses;
}

function readCluster(read: EnvReader): ClusterSettings {
  const kafkaBrokers = addressList(read, 'KAFKA_BROKERS', 'KAFKA_BROKERS must be host:port[,host:port...]');
  const kafka = {
    kafkaBrokers,
    kafkaTopic: read.string('FLUX_KAFKA_TOPIC', 'flux-events'),
    kafkaReplicationFactor: read.integer('FLUX_KAFKA_REPLICATION_FACTOR', 1, 1, 16),
    kafkaCreateTopic: read.boolean('FLUX_KAFKA_CREATE_TOPIC', true),
    kafkaSecurity: readKafkaSecurity(read),
  };
  const redis = readRedisConnection(read);
  return {
    ...kafka,
    redisUrl: redis.url,
    redis,
    redisKeyPrefix: read.string('FLUX_REDIS_KEY_PREFIX', 'flux:'),
    reducerAssignment: readAssignment(read),
  };
}

function readAssignment(read: EnvReader): ReducerAssignment {
  const value = read.string('FLUX_REDUCER_ASSIGNMENT', 'static').toLowerCase();
  if ((REDUCER_ASSIGNMENTS as readonly string[]).includes(value)) return value as ReducerAssignment;
  read.problems.push(`FLUX_REDUCER_ASSIGNMENT must be one of ${REDUCER_ASSIGNMENTS.join(', ')}, got ${JSON.stringify(value)}`);
  return 'static';
}

function readShard(read: EnvReader, assignment: ReducerAssignment): ShardSettings {
  const elastic = assignment === 'elastic';
  // Elastic reducers have no fixed shard: the index and count are neither read nor checked.
  const shardCount = elastic ? 1 : read.integer('SHARD_COUNT', 1, 1, 1024);
  const shardIndex = elastic ? 0 : read.integer('SHARD_INDEX', 0, 0, 1023);
  if (shardIndex >= shardCount) read.problems.push(`SHARD_INDEX must be below SHARD_COUNT (${shardCount}), got ${shardIndex}`);
  const grpcPort = read.integer('GRPC_PORT', 50051, 0, 65_535);
  const metricsPort = read.integer('FLUX_METRICS_PORT', DEFAULT_METRICS_PORT, 0, 65_535);
  // 0 picks a free port for each, so only a fixed port can collide.
  if (metricsPort !== 0 && metricsPort === grpcPort) read.problems.push(`FLUX_METRICS_PORT must differ from GRPC_PORT (${grpcPort})`);
  const grpcHost = read.string('GRPC_HOST', '0.0.0.0');
  return { shardIndex, shardCount, grpcHost, grpcPort, metricsPort, elastic: elastic ? readMember(read, grpcHost, grpcPort) : undefined };
}

function readMember(read: EnvReader, grpcHost: string, grpcPort: number): ElasticMemberSettings {
  if (grpcPort === 0)
    read.problems.push('GRPC_PORT must be a fixed port with FLUX_REDUCER_ASSIGNMENT=elastic (gateways dial the advertised address)');
  const advertisedHost = read.optionalString('FLUX_ADVERTISED_HOST') ?? (grpcHost === '0.0.0.0' || grpcHost === '::' ? hostname() : grpcHost);
  const memberId = read.optionalString('FLUX_REDUCER_ID') ?? `${advertisedHost}:${grpcPort}`;
  if (memberId.length > 200) read.problems.push(`FLUX_REDUCER_ID must be at most 200 characters, got ${memberId.length}`);
  return { memberId, advertisedHost, leaseMs: read.integer('FLUX_REDUCER_LEASE_MS', 6_000, 1_000, 300_000) };
}

/** Only static assignment lists the shards; elastic gateways route by the partition map. */
const shardAddresses = (read: EnvReader, assignment: ReducerAssignment): string[] =>
  assignment === 'elastic' ? [] : addressList(read, 'FLUX_SHARD_ADDRESSES', 'FLUX_SHARD_ADDRESSES must be host:port[,host:port...] in shard order');

/** What each role reads beyond the shared settings, given a reader that collects problems. */
const ROLE_READERS: { readonly [R in ClusterRole]: (read: EnvReader, base: ClusterProcessSettings) => ClusterRoleSettings[R] } = {
  reducer: (read, base) => ({ ...base, shard: readShard(read, base.cluster.reducerAssignment) }),
  'ingest-gateway': (read, base) => ({ ...base, shardAddresses: shardAddresses(read, base.cluster.reducerAssignment) }),
  'query-gateway': (read, base) => ({
    ...base,
    shardAddresses: shardAddresses(read, base.cluster.reducerAssignment),
    ingestUrl: read.url('FLUX_INGEST_URL', 'http://127.0.0.1:3001'),
    advertisedHost: read.optionalString('FLUX_ADVERTISED_HOST'),
  }),
};

/**
 * Parses the environment of one process of the distributed topology into its role's settings;
 * throws a ConfigError naming every bad variable.
 */
export function parseClusterSettings<R extends ClusterRole>(role: R, env: Env = process.env): ClusterRoleSettings[R] {
  const read = new EnvReader(env);
  const base: ClusterProcessSettings = { ...readSettings(read), cluster: readCluster(read) };
  const settings = ROLE_READERS[role](read, base);
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return settings;
}
