import { ConfigError, EnvReader, parseClusterSettings, type ClusterRole, type Env } from '@flux/core';

/** What `npm run start:cluster` itself reads from its environment. */
export interface LauncherSettings {
  /** Reducers started (FLUX_CLUSTER_SHARDS); with elastic assignment 0 is allowed: reducers are then started by whoever runs the cluster. */
  readonly shardCount: number;
  /** FLUX_REDUCER_ASSIGNMENT, passed on to every process. */
  readonly elastic: boolean;
  readonly queryGateways: number;
  /** Pause before a process that died is started again. */
  readonly restartDelayMs: number;
  /** How long a stopping process may drain before it is killed: its own deadline plus a margin. */
  readonly stopGraceMs: number;
  /** Extra Node.js flags for every process (Node refuses --cpu-prof in NODE_OPTIONS). */
  readonly nodeArgs: readonly string[];
  /** The one public port (the balancer in front of the query gateways). */
  readonly publicPort: number;
  readonly host: string;
  /** Receives the processes' names and pids, for failure tests. */
  readonly stateFile: string | undefined;
}

/**
 * Parses the launcher's own variables and checks every role's settings as the launcher will
 * start it, so a bad value gives one message naming each problem instead of processes failing
 * and being restarted forever. Throws a ConfigError.
 */
export function parseLauncherSettings(env: Env): LauncherSettings {
  const read = new EnvReader(env);
  const elastic = env['FLUX_REDUCER_ASSIGNMENT'] === 'elastic';
  const settings: LauncherSettings = {
    shardCount: read.integer('FLUX_CLUSTER_SHARDS', 3, elastic ? 0 : 1, 64),
    elastic,
    queryGateways: read.integer('FLUX_CLUSTER_QUERY_GATEWAYS', 2, 1, 64),
    restartDelayMs: read.integer('FLUX_CLUSTER_RESTART_DELAY_MS', 1000, 0, 600_000),
    stopGraceMs: read.integer('FLUX_SHUTDOWN_TIMEOUT_MS', 20_000, 100, 3_600_000) + 5_000,
    nodeArgs: (read.optionalString('FLUX_CLUSTER_NODE_ARGS') ?? '').split(/\s+/).filter((arg) => arg !== ''),
    publicPort: read.integer('PORT', 3000, 0, 65_535),
    host: read.string('FLUX_CLUSTER_HOST', '0.0.0.0'),
    stateFile: read.optionalString('FLUX_CLUSTER_STATE_FILE'),
  };
  const problems = new Set(read.problems);
  // Placeholders for what the launcher assigns itself (ports, addresses); Kafka and Redis
  // default to the local services when unset.
  const shared = { KAFKA_BROKERS: '127.0.0.1:9092', REDIS_URL: 'redis://127.0.0.1:6379', ...env };
  const roleEnv: Record<ClusterRole, Env> = {
    reducer: elastic
      ? { ...shared, GRPC_PORT: '50051', FLUX_ADVERTISED_HOST: '127.0.0.1', FLUX_REDUCER_ID: 'reducer-0' }
      : { ...shared, SHARD_INDEX: '0', SHARD_COUNT: String(settings.shardCount), GRPC_PORT: '0' },
    'ingest-gateway': { ...shared, FLUX_SHARD_ADDRESSES: '127.0.0.1:1' },
    'query-gateway': { ...shared, FLUX_SHARD_ADDRESSES: '127.0.0.1:1', FLUX_INGEST_URL: 'http://127.0.0.1:1' },
  };
  for (const [role, values] of Object.entries(roleEnv) as [ClusterRole, Env][]) {
    try {
      parseClusterSettings(role, values);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const problem of error.problems) problems.add(problem);
    }
  }
  if (problems.size > 0) throw new ConfigError([...problems]);
  return settings;
}
