/**
 * The deployment a chaos run hurts. Embedded: one server process, killed with SIGKILL and
 * started again on the same data directory and port. Cluster: the cluster launcher
 * (deploy/local/start-cluster.ts) on private Kafka and Redis; a killed reducer or gateway is
 * restarted by the launcher's supervisor, Redis and Kafka by services.sh.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, untrackProcessGroup } from '@flux/core/tooling';
import { readClusterState, startReadyFluxProcess, waitUntilReady, type ServerProcess } from '../../../deploy/local/deployment-process.js';
import { serverEnv, startDeployment, type Deployment } from '../deployment.js';
import { delay } from '../process-group.js';
import type { FaultTarget } from './fault-plan.js';
import { PrivateServices } from './private-services.js';
import type { SeededRandom } from './random.js';

export interface ChaosTarget {
  readonly baseUrl: string;
  /** Kills one process of the role (restarted by whoever supervises it); says what was done. */
  inject(target: FaultTarget, random: SeededRandom): Promise<string>;
  /** Resolves once the deployment answers /ready again. */
  ready(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export interface ChaosTargetOptions {
  /**
   * Every server process's output goes to this file too, logged at info level; the cluster's
   * own Kafka and Redis logs are kept in `<serverLog>.services/`.
   */
  readonly serverLog?: string;
}

/** What the servers get for `serverLog`: info-level logs, written to the file as well. */
function logging({ serverLog }: ChaosTargetOptions): { env: Record<string, string>; logFile?: string } {
  return serverLog === undefined ? { env: {} } : { env: { FLUX_LOG_LEVEL: 'info' }, logFile: serverLog };
}

export async function startEmbeddedTarget(repoRoot: string, options: ChaosTargetOptions = {}): Promise<ChaosTarget> {
  const dataDir = await mkdtemp(join(tmpdir(), 'flux-chaos-'));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const { env: logEnv, ...logFile } = logging(options);
  const env = serverEnv({ PORT: String(port), HOST: '127.0.0.1', FLUX_DATA_DIR: dataDir, ...logEnv });
  const launch = (): Promise<ServerProcess> => startReadyFluxProcess({ kind: 'embedded', root: repoRoot, env, baseUrl, ...logFile });
  let server = await launch();
  return {
    baseUrl,
    inject: async (_target, random) => {
      const killed = server.pid;
      killGroup(killed);
      while (!server.exited()) await delay(10);
      // Its group id is free for reuse now: the harness must not signal it at exit.
      untrackProcessGroup(killed);
      const downMs = random.int(200, 2000);
      await delay(downMs);
      server = await launch();
      return `kill -9 server (pid ${killed}), restarted after ${downMs} ms as pid ${server.pid}`;
    },
    ready: (timeoutMs) => waitUntilReady(baseUrl, timeoutMs),
    stop: async () => {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startClusterTarget(repoRoot: string, runId: string, options: ChaosTargetOptions = {}): Promise<ChaosTarget> {
  const dir = await mkdtemp(join(tmpdir(), 'flux-chaos-cluster-'));
  const stateFile = join(dir, 'cluster.json');
  process.stderr.write(`[chaos] starting private Kafka and Redis in ${dir}/services\n`);
  const services = await PrivateServices.start(join(dir, 'services'));
  const { env: logEnv, ...logFile } = logging(options);
  let deployment: Deployment;
  try {
    deployment = await startDeployment({
      kind: 'cluster',
      fluxRoot: repoRoot,
      runId,
      services: services.services,
      env: { FLUX_CLUSTER_STATE_FILE: stateFile, ...logEnv },
      ...logFile,
    });
  } catch (error) {
    await services.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const processes = (): Readonly<Record<string, number>> => readClusterState(stateFile).processes;
  const killRole = async (prefix: string, random: SeededRandom): Promise<string> => {
    const names = Object.keys(processes())
      .filter((name) => name.startsWith(prefix))
      .sort();
    if (names.length === 0) throw new Error(`no ${prefix} process in ${stateFile}`);
    const name = random.pick(names);
    const pid = processes()[name]!;
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      throw new Error(`could not kill ${name} (pid ${pid}; launcher state ${JSON.stringify(processes())})`, { cause: error });
    }
    // The supervisor restarts it after FLUX_CLUSTER_RESTART_DELAY_MS and records the new pid.
    const deadline = Date.now() + 30_000;
    while (processes()[name] === undefined || processes()[name] === pid) {
      if (Date.now() > deadline) throw new Error(`${name} was not restarted within 30 s`);
      await delay(50);
    }
    return `kill -9 ${name} (pid ${pid}), restarted as pid ${processes()[name]}`;
  };
  return {
    baseUrl: deployment.baseUrl,
    inject: async (target, random) => {
      if (target === 'redis' || target === 'kafka') {
        const started = performance.now();
        const pid = await services.restart(target);
        return `kill -9 ${target} (pid ${pid}), back after ${((performance.now() - started) / 1000).toFixed(1)} s`;
      }
      return killRole(target === 'reducer' ? 'reducer-' : target, random);
    },
    ready: (timeoutMs) => waitUntilReady(deployment.baseUrl, timeoutMs),
    stop: async () => {
      await deployment.stop();
      if (options.serverLog !== undefined) await services.keepLogs(`${options.serverLog}.services`);
      await services.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
