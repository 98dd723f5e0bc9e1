/**
 * Starts the Flux deployment under test from a Flux checkout (`--flux-root`), so the same
 * harness can measure an older commit checked out elsewhere with its own node_modules.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDeploymentData, type LocalServices } from '../../deploy/local/local-services.js';
import { groupCpuSeconds, groupPids, processMemory, type ProcessMemory } from './proc-stats.js';
import { freePort } from '@flux/core';
import { startServerProcess, waitForOk, type ServerProcess } from './process-group.js';

export type DeploymentKind = 'embedded' | 'cluster';

export interface Deployment {
  readonly baseUrl: string;
  readonly startupSeconds: number;
  /** Memory of every process that serves (embedded: the one node process). */
  memory(): ProcessMemory[];
  /** CPU seconds used so far by the deployment's processes. */
  cpuSeconds(): number;
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

const READY_TIMEOUT_MS: Record<DeploymentKind, number> = { embedded: 60_000, cluster: 180_000 };

/** A server's environment: ours, less any Flux or Node setting that would change what is measured. */
export function serverEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('FLUX_')) delete env[name];
  delete env.NODE_OPTIONS;
  delete env.NODE_ENV;
  return { ...env, FLUX_LOG_LEVEL: 'warn', ...overrides };
}

export function checkFluxRoot(fluxRoot: string, kind: DeploymentKind): void {
  const entry = kind === 'embedded' ? 'apps/flux/src/main.ts' : 'deploy/local/start-cluster.ts';
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
  let entry: string;
  if (kind === 'embedded') {
    entry = 'apps/flux/src/main.ts';
    env = serverEnv({ PORT: String(port), HOST: '127.0.0.1', FLUX_DATA_DIR: dataDir, ...options.env });
  } else {
    const services = options.services;
    if (services === undefined) throw new Error('the cluster deployment needs Kafka and Redis');
    entry = 'deploy/local/start-cluster.ts';
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
      ...options.env,
    });
  }
  const started = performance.now();
  // `node --import tsx` rather than `npm start`/`tsx`: no wrapper process, so the spawned pid
  // is the server itself. `--import` resolves tsx from the cwd, i.e. from the checkout's own
  // node_modules.
  const server: ServerProcess = startServerProcess(`flux ${kind}`, process.execPath, [...(kind === 'embedded' ? nodeArgs : []), '--import', 'tsx', join(fluxRoot, entry)], {
    cwd: fluxRoot,
    env,
    ...(options.logFile === undefined ? {} : { logFile: options.logFile }),
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const cleanUp = async (): Promise<void> => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    if (kind === 'cluster' && options.services !== undefined) {
      await removeDeploymentData(options.services, topic, keyPrefix).catch((error: unknown) => {
        process.stderr.write(`could not remove the run's Kafka topic / Redis keys: ${String(error)}\n`);
      });
    }
  };
  try {
    await waitForOk(`${baseUrl}/ready`, server, READY_TIMEOUT_MS[kind]);
  } catch (error) {
    await cleanUp();
    throw error;
  }
  const startupSeconds = (performance.now() - started) / 1000;
  return {
    baseUrl,
    startupSeconds,
    memory: () =>
      (kind === 'embedded' ? [server.pid] : groupPids(server.pid))
        .map(processMemory)
        .filter((memory): memory is ProcessMemory => memory !== undefined),
    cpuSeconds: () => groupCpuSeconds(server.pid),
    stop: cleanUp,
  };
}
