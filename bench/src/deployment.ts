/**
 * Starts the Flux deployment under test from a Flux checkout (`--flux-root`), so the same
 * harness can measure an older commit checked out elsewhere with its own node_modules.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEPLOYMENT_ENTRIES,
  deploymentMetricsUrls,
  scrubbedEnv,
  startReadyFluxProcess,
  type DeploymentKind,
} from '../../deploy/local/deployment-process.js';
import { removeDeploymentData, type LocalServices } from '../../deploy/local/local-services.js';
import { servicePids } from './cluster-services.js';
import { dataDiskOf, type DataDisk } from './data-disk.js';
import { groupCpuSeconds, groupPids, pidsCpuSeconds, processMemory, type ProcessMemory } from './proc-stats.js';
import { freePort } from '@flux/core/tooling';

export type { DeploymentKind };

export interface Deployment {
  readonly kind: DeploymentKind;
  readonly baseUrl: string;
  readonly startupSeconds: number;
  /** Memory of every process that serves (embedded: the one node process). */
  memory(): ProcessMemory[];
  /** CPU seconds used so far by the deployment's processes. */
  cpuSeconds(): number;
  /** Where each serving process answers GET /metrics, by name (embedded: the one process). */
  metricsUrls(): Record<string, string>;
  /**
   * The cluster: CPU seconds used so far by the Kafka and Redis processes this machine shows
   * (undefined when it shows none, e.g. when they run in another container). Embedded: undefined.
   */
  servicesCpuSeconds(): number | undefined;
  /** The filesystem the server keeps its data on; undefined where it cannot be told. */
  readonly dataDisk: DataDisk | undefined;
  stop(): Promise<void>;
}

export interface DeploymentOptions {
  readonly kind: DeploymentKind;
  readonly fluxRoot: string;
  /** Required for the cluster. */
  readonly services?: LocalServices;
  /** Distinguishes this deployment's Kafka topic and Redis keys from every other run's. */
  readonly runId: string;
  /** Extra Node.js flags for every server process. */
  readonly nodeArgs?: readonly string[];
  /** Extra environment for the servers (public mode, a cluster state file). */
  readonly env?: Readonly<Record<string, string>>;
  /** Every server process's output is appended to this file too. */
  readonly logFile?: string;
}

/** A server's environment: ours, less any Flux or Node setting that would change what is measured. */
export const serverEnv = (overrides: Record<string, string>): NodeJS.ProcessEnv => scrubbedEnv({ FLUX_LOG_LEVEL: 'warn', ...overrides });

export function checkFluxRoot(fluxRoot: string, kind: DeploymentKind): void {
  const entry = DEPLOYMENT_ENTRIES[kind];
  if (!existsSync(join(fluxRoot, entry))) throw new Error(`${fluxRoot} is not a Flux checkout with ${entry}`);
  if (!existsSync(join(fluxRoot, 'node_modules', 'tsx'))) {
    throw new Error(`${fluxRoot} has no node_modules: run \`npm ci\` there first (its server runs on its own dependencies)`);
  }
}

export async function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  const { kind, fluxRoot, runId, nodeArgs = [] } = options;
  checkFluxRoot(fluxRoot, kind);
  const dataDir = await mkdtemp(join(tmpdir(), 'flux-bench-'));
  const port = await freePort();
  const topic = `flux-bench-${runId}`;
  const keyPrefix = `flux-bench-${runId}:`;
  let env: NodeJS.ProcessEnv;
  if (kind === 'embedded') {
    env = serverEnv({ PORT: String(port), HOST: '127.0.0.1', FLUX_DATA_DIR: dataDir, ...options.env });
  } else {
    const services = options.services;
    if (services === undefined) throw new Error('the cluster deployment needs Kafka and Redis');
    env = serverEnv({
      PORT: String(port),
      FLUX_CLUSTER_HOST: '127.0.0.1',
      FLUX_DATA_DIR: dataDir,
      KAFKA_BROKERS: services.kafkaBrokers,
      REDIS_URL: services.redisUrl,
      FLUX_KAFKA_TOPIC: topic,
      FLUX_REDIS_KEY_PREFIX: keyPrefix,
      // The cluster launcher passes these to each process it starts.
      FLUX_CLUSTER_NODE_ARGS: nodeArgs.join(' '),
      // Where the launcher names its processes and their metrics URLs (a caller's file wins).
      FLUX_CLUSTER_STATE_FILE: join(dataDir, 'cluster.json'),
      ...options.env,
    });
  }
  const baseUrl = `http://127.0.0.1:${port}`;
  const cleanUpData = async (): Promise<void> => {
    await rm(dataDir, { recursive: true, force: true });
    if (kind === 'cluster' && options.services !== undefined) {
      await removeDeploymentData(options.services, topic, keyPrefix).catch((error: unknown) => {
        process.stderr.write(`could not remove the run's Kafka topic / Redis keys: ${String(error)}\n`);
      });
    }
  };
  const started = performance.now();
  const server = await startReadyFluxProcess({
    kind,
    root: fluxRoot,
    env,
    nodeArgs,
    // Embedded: what `npm start` runs, compiled; the cluster's processes run their sources.
    asNpmStart: true,
    baseUrl,
    ...(options.logFile === undefined ? {} : { logFile: options.logFile }),
  }).catch(async (error: unknown) => {
    await cleanUpData();
    throw error;
  });
  const startupSeconds = (performance.now() - started) / 1000;
  // Looked up once: the services do not come and go during a run.
  const services = kind === 'cluster' ? servicePids() : [];
  return {
    kind,
    baseUrl,
    startupSeconds,
    dataDisk: dataDiskOf(dataDir),
    memory: () =>
      (kind === 'embedded' ? [server.pid] : groupPids(server.pid))
        .map(processMemory)
        .filter((memory): memory is ProcessMemory => memory !== undefined),
    cpuSeconds: () => groupCpuSeconds(server.pid),
    metricsUrls: () => deploymentMetricsUrls(kind, baseUrl, env),
    servicesCpuSeconds: () => (services.length === 0 ? undefined : pidsCpuSeconds(services)),
    stop: async () => {
      await server.stop();
      await cleanUpData();
    },
  };
}
