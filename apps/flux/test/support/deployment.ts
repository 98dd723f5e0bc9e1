/**
 * Starts a real Flux deployment for the black-box contract suite.
 *
 * The suite only talks HTTP/WebSocket to what this module starts, so it can target any
 * deployment shape: `FLUX_TEST_DEPLOYMENT` selects the kind (default `embedded`, the single
 * process; `cluster`, the distributed topology of `npm run start:cluster`). Starting, readiness
 * and stopping are deploy/local/deployment-process.ts's, shared with the benchmark.
 */
import { freePort } from '@flux/core/tooling';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEPLOYMENT_ENTRIES,
  deploymentMetricsUrls,
  READY_TIMEOUT_MS,
  readyStatus,
  scrubbedEnv,
  startFluxProcess,
  startReadyFluxProcess,
  type DeploymentKind,
  type ServerProcess,
} from '../../../../deploy/local/deployment-process.js';
import { removeDeploymentData } from '../../../../deploy/local/local-services.js';

/** Repository root (/work/main): this file is apps/flux/test/support/deployment.ts. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');

export const deploymentKindName = (): string => process.env.FLUX_TEST_DEPLOYMENT ?? 'embedded';

const isDeploymentKind = (name: string): name is DeploymentKind => Object.hasOwn(DEPLOYMENT_ENTRIES, name);

function deploymentKind(): DeploymentKind {
  const name = deploymentKindName();
  if (!isDeploymentKind(name)) throw new Error(`FLUX_TEST_DEPLOYMENT=${name} is not one of ${Object.keys(DEPLOYMENT_ENTRIES).join(', ')}`);
  return name;
}

const readyTimeoutMs = (): number => Number(process.env.FLUX_TEST_READY_TIMEOUT_MS ?? READY_TIMEOUT_MS[deploymentKind()]);

/**
 * Timeout for a beforeAll that starts deployments: the kind's readiness deadline plus slack
 * (the cluster takes far longer to become ready than the embedded process).
 */
export const STARTUP_TIMEOUT_MS = readyTimeoutMs() + 30_000;

export type EnvOverrides = Readonly<Record<string, string | undefined>>;

export interface DeploymentOptions {
  /** Extra environment for the server (FLUX_AUTH_ENABLED, FLUX_ADMIN_TOKEN, ...). */
  readonly env?: EnvOverrides;
  /** Use this data directory instead of a fresh temporary one (it is then not removed). */
  readonly dataDir?: string;
  /** Override the kind's readiness deadline. */
  readonly readyTimeoutMs?: number;
}

export interface RestartOptions {
  /** Listen on a new free port instead of the previous one. */
  readonly newPort?: boolean;
  /** Signal used to stop the running process first (SIGTERM; SIGKILL simulates a crash). */
  readonly signal?: NodeJS.Signals;
}

export interface Deployment {
  /** `http://127.0.0.1:<port>`; changes when restart() picks a new port. */
  readonly baseUrl: string;
  /** `ws://127.0.0.1:<port>/api/ws`. */
  readonly wsUrl: string;
  readonly dataDir: string;
  readonly port: number;
  /** Process id of the running server (undefined while stopped). */
  readonly pid: number | undefined;
  /** Everything the server wrote to stdout and stderr so far (tail). */
  output(): string;
  /**
   * Where each process answers GET /metrics, by name: `flux` (embedded), or every reducer and
   * gateway of the cluster (`reducer-0`, `ingest-gateway`, `query-gateway-0`, ...).
   */
  metricsUrls(): Record<string, string>;
  /** Stops the server; resolves with its exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Stops (if running) and starts again on the same data directory; waits for readiness. */
  restart(options?: RestartOptions): Promise<void>;
  /** Stops the server and removes the data directory when this module created it. */
  dispose(): Promise<void>;
}

const OUTPUT_TAIL_CHARS = 64 * 1024;

/** A port that was free a moment ago: listen on port 0, read it, close. */
export { freePort };

function serverEnv(port: number, dataDir: string, overrides: EnvOverrides): NodeJS.ProcessEnv {
  // Each cluster deployment gets its own topic and Redis keys on the shared Kafka and Redis; a
  // restart reuses its data dir and therefore finds its data again.
  const id = basename(dataDir).replace(/[^A-Za-z0-9-]/g, '-');
  // The launcher names its processes and their metrics URLs in the state file.
  const cluster =
    deploymentKind() === 'cluster'
      ? {
          // How the services are reached (FLUX_REDIS_CLUSTER=true after services:up --redis-cluster, TLS, SASL).
          ...Object.fromEntries(Object.entries(process.env).filter(([name]) => /^FLUX_(KAFKA|REDIS)_/.test(name))),
          FLUX_KAFKA_TOPIC: `flux-test-${id}`,
          FLUX_REDIS_KEY_PREFIX: `flux-test-${id}:`,
          FLUX_CLUSTER_STATE_FILE: join(dataDir, 'cluster-state.json'),
        }
      : {};
  return scrubbedEnv({ PORT: String(port), FLUX_DATA_DIR: dataDir, ...cluster, ...overrides });
}

/**
 * A cluster deployment's Kafka topic and Redis keys, once it is gone for good: on a long-lived
 * developer machine they would otherwise pile up run after run (and a Redis loading gigabytes
 * of leftovers starts slowly). A failure here is reported, not fatal: the test itself is done.
 */
async function removeClusterData(env: NodeJS.ProcessEnv): Promise<void> {
  const { KAFKA_BROKERS: kafkaBrokers, REDIS_URL: redisUrl, FLUX_KAFKA_TOPIC: topic, FLUX_REDIS_KEY_PREFIX: keyPrefix } = env;
  if (deploymentKind() !== 'cluster' || !kafkaBrokers || !redisUrl || !topic || !keyPrefix) return;
  try {
    await removeDeploymentData({ kafkaBrokers, redisUrl }, topic, keyPrefix);
  } catch (error) {
    console.error(`[flux-contract] could not remove topic ${topic} / keys ${keyPrefix}*: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export async function startDeployment(options: DeploymentOptions = {}): Promise<Deployment> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'flux-contract-')));
  const envOverrides = options.env ?? {};
  const timeoutMs = options.readyTimeoutMs ?? readyTimeoutMs();

  let port = await freePort();
  let running: ServerProcess | undefined;
  let previousOutput = '';
  /** True while stop() is stopping the server (its exit is then expected). */
  let stopping = false;

  const start = async (): Promise<void> => {
    const env = serverEnv(port, dataDir, envOverrides);
    const current = await startReadyFluxProcess({
      kind: deploymentKind(),
      root: REPO_ROOT,
      env,
      baseUrl: `http://127.0.0.1:${port}`,
      readyTimeoutMs: timeoutMs,
    });
    running = current;
    // A server that dies on its own makes every later request fail with "fetch failed": say why.
    void current.exit.then(({ code, signal }) => {
      if (running === current && !stopping) {
        console.error(
          `[flux-contract] Flux on port ${port} exited unexpectedly (code ${code}, signal ${signal}).\n--- server output (tail) ---\n${current.output().slice(-8_000)}`,
        );
      }
    });
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (running === undefined) return null;
    const current = running;
    stopping = true;
    const code = await current.stop(signal).finally(() => {
      stopping = false;
    });
    previousOutput += current.output();
    if (previousOutput.length > OUTPUT_TAIL_CHARS) previousOutput = previousOutput.slice(-OUTPUT_TAIL_CHARS);
    running = undefined;
    return code;
  };

  await start();

  return {
    get baseUrl() {
      return `http://127.0.0.1:${port}`;
    },
    get wsUrl() {
      return `ws://127.0.0.1:${port}/api/ws`;
    },
    get port() {
      return port;
    },
    get pid() {
      return running?.pid;
    },
    dataDir,
    output: () => previousOutput + (running?.output() ?? ''),
    metricsUrls: () => deploymentMetricsUrls(deploymentKind(), `http://127.0.0.1:${port}`, serverEnv(port, dataDir, envOverrides)),
    stop,
    restart: async (restartOptions: RestartOptions = {}) => {
      await stop(restartOptions.signal ?? 'SIGTERM');
      if (restartOptions.newPort === true) port = await freePort();
      await start();
    },
    dispose: async () => {
      await stop('SIGTERM');
      if (!ownsDataDir) return;
      await rm(dataDir, { recursive: true, force: true });
      await removeClusterData(serverEnv(port, dataDir, envOverrides));
    },
  };
}

export interface StartupFailure {
  /** Exit code, or null when the process had to be killed (it did not stop by itself). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when the server answered GET /ready with 200 instead of stopping. */
  readonly becameReady: boolean;
  readonly output: string;
}

/**
 * Starts the server with `env` expecting it NOT to start (invalid configuration). Resolves when
 * it exits, when it answers /ready with 200 (then it is killed), or at the deadline.
 */
export async function startExpectingFailure(env: EnvOverrides, timeoutMs = 30_000): Promise<StartupFailure> {
  const dataDir = await mkdtemp(join(tmpdir(), 'flux-contract-bad-'));
  const port = env.PORT === undefined ? await freePort() : undefined;
  const server = startFluxProcess({ kind: deploymentKind(), root: REPO_ROOT, env: serverEnv(port ?? 0, dataDir, env) });
  let becameReady = false;
  const deadline = Date.now() + timeoutMs;
  while (!server.exited() && Date.now() < deadline) {
    if (port !== undefined && (await readyStatus(`http://127.0.0.1:${port}`)) === 200) {
      becameReady = true;
      break;
    }
    await Promise.race([server.exit, new Promise((resolveDelay) => setTimeout(resolveDelay, 100))]);
  }
  const exited = server.exited();
  // Whatever is left of the group goes too (all of it when the server did not stop by itself).
  await server.stop('SIGKILL', 1_000);
  await rm(dataDir, { recursive: true, force: true });
  const { code, signal } = exited ? await server.exit : { code: null, signal: null };
  return { code, signal, becameReady, output: server.output() };
}

/** Environment for a public-mode deployment. */
export const publicEnv = (adminToken: string | undefined, extra: EnvOverrides = {}): EnvOverrides => ({
  FLUX_AUTH_ENABLED: 'true',
  ...(adminToken === undefined ? {} : { FLUX_ADMIN_TOKEN: adminToken }),
  ...extra,
});

/** A valid FLUX_ENCRYPTION_KEY: base64 of 32 bytes. */
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');
