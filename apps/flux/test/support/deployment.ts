/**
 * Starts a real Flux deployment for the black-box contract suite.
 *
 * The suite only talks HTTP/WebSocket to what this module starts, so it can target any
 * deployment shape: `FLUX_TEST_DEPLOYMENT` selects one of DEPLOYMENT_KINDS (default
 * `embedded`, the single process; `cluster`, the distributed topology of `npm run start:cluster`).
 * The command for each kind lives in DEPLOYMENT_KINDS and nowhere else.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, signalProcessGroup, stopProcessGroup, trackProcessGroup, untrackProcessGroup } from '@flux/core/tooling';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeDeploymentData } from '../../../../deploy/local/local-services.js';

/** Repository root (/work/main): this file is apps/flux/test/support/deployment.ts. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');

interface DeploymentKind {
  /** Executable and arguments, run with cwd REPO_ROOT. */
  readonly command: readonly string[];
  /** Overall deadline for `GET /ready` to answer 200. */
  readonly readyTimeoutMs: number;
}

const DEPLOYMENT_KINDS: Readonly<Record<string, DeploymentKind>> = {
  embedded: { command: [process.execPath, '--import', 'tsx', 'apps/flux/src/main.ts'], readyTimeoutMs: 45_000 },
  cluster: { command: ['npm', 'run', '--silent', 'start:cluster'], readyTimeoutMs: 180_000 },
};

export const deploymentKindName = (): string => process.env.FLUX_TEST_DEPLOYMENT ?? 'embedded';

/**
 * Timeout for a beforeAll that starts deployments: the kind's readiness deadline plus slack
 * (the cluster takes far longer to become ready than the embedded process).
 */
export const STARTUP_TIMEOUT_MS =
  Number(process.env.FLUX_TEST_READY_TIMEOUT_MS ?? DEPLOYMENT_KINDS[deploymentKindName()]?.readyTimeoutMs ?? 45_000) + 30_000;

function deploymentKind(): DeploymentKind {
  const name = deploymentKindName();
  const kind = DEPLOYMENT_KINDS[name];
  if (kind === undefined) {
    throw new Error(`FLUX_TEST_DEPLOYMENT=${name} is not one of ${Object.keys(DEPLOYMENT_KINDS).join(', ')}`);
  }
  return kind;
}

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

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly output: () => string;
}

function spawnServer(env: NodeJS.ProcessEnv): Running {
  const [command, ...args] = deploymentKind().command;
  if (command === undefined) throw new Error('empty deployment command');
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) trackProcessGroup(child.pid);
  let tail = '';
  const append = (chunk: Buffer): void => {
    tail += chunk.toString('utf8');
    if (tail.length > OUTPUT_TAIL_CHARS) tail = tail.slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => {
      if (child.pid !== undefined && !signalProcessGroup(child.pid, 0)) untrackProcessGroup(child.pid);
      resolveExit({ code, signal });
    });
    child.once('error', (error) => {
      append(Buffer.from(`\n[harness] spawn error: ${error.message}\n`));
      resolveExit({ code: -1, signal: null });
    });
  });
  return { child, exited, output: () => tail };
}

function serverEnv(port: number, dataDir: string, overrides: EnvOverrides): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The suite's own environment must not leak Flux settings into the server under test.
  for (const name of Object.keys(env)) {
    if (name.startsWith('FLUX_') && !name.startsWith('FLUX_TEST_')) delete env[name];
  }
  delete env.NODE_OPTIONS;
  delete env.VITEST;
  delete env.VITEST_WORKER_ID;
  delete env.VITEST_POOL_ID;
  delete env.NODE_ENV;
  env.PORT = String(port);
  env.FLUX_DATA_DIR = dataDir;
  if (deploymentKindName() === 'cluster') {
    // Each deployment gets its own topic and Redis keys on the shared Kafka and Redis; a
    // restart reuses its data dir and therefore finds its data again.
    const id = basename(dataDir).replace(/[^A-Za-z0-9-]/g, '-');
    env.FLUX_KAFKA_TOPIC = `flux-test-${id}`;
    env.FLUX_REDIS_KEY_PREFIX = `flux-test-${id}:`;
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/**
 * A cluster deployment's Kafka topic and Redis keys, once it is gone for good: on a long-lived
 * developer machine they would otherwise pile up run after run (and a Redis loading gigabytes
 * of leftovers starts slowly). A failure here is reported, not fatal: the test itself is done.
 */
async function removeClusterData(env: NodeJS.ProcessEnv): Promise<void> {
  const { KAFKA_BROKERS: kafkaBrokers, REDIS_URL: redisUrl, FLUX_KAFKA_TOPIC: topic, FLUX_REDIS_KEY_PREFIX: keyPrefix } = env;
  if (deploymentKindName() !== 'cluster' || !kafkaBrokers || !redisUrl || !topic || !keyPrefix) return;
  try {
    await removeDeploymentData({ kafkaBrokers, redisUrl }, topic, keyPrefix);
  } catch (error) {
    console.error(`[flux-contract] could not remove topic ${topic} / keys ${keyPrefix}*: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const delay = (ms: number): Promise<void> => new Promise((resolveDelay) => setTimeout(resolveDelay, ms));

async function readyStatus(baseUrl: string): Promise<number | string> {
  try {
    const response = await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function waitUntilReady(running: Running, baseUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void running.exited.then((value) => {
    exit = value;
  });
  let last: number | string = 'no answer yet';
  while (Date.now() < deadline) {
    if (exit !== undefined) {
      await stopRunning(running, 'SIGKILL', 1_000);
      throw new Error(
        `Flux exited before it was ready (code ${exit.code}, signal ${exit.signal}).\n--- server output ---\n${running.output()}`,
      );
    }
    last = await readyStatus(baseUrl);
    if (last === 200) return;
    await delay(100);
  }
  await stopRunning(running, 'SIGKILL', 1_000);
  throw new Error(
    `Flux did not answer GET /ready with 200 within ${timeoutMs} ms (last: ${last}).\n--- server output ---\n${running.output()}`,
  );
}

/** The server's whole group (cluster processes too): `signal`, then SIGKILL after `graceMs`. */
async function stopRunning(running: Running, signal: NodeJS.Signals, graceMs = 15_000): Promise<number | null> {
  if (running.child.pid !== undefined) await stopProcessGroup(running.child.pid, signal, graceMs);
  return (await running.exited).code;
}

export async function startDeployment(options: DeploymentOptions = {}): Promise<Deployment> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'flux-contract-')));
  const envOverrides = options.env ?? {};
  const readyTimeoutMs = options.readyTimeoutMs ?? Number(process.env.FLUX_TEST_READY_TIMEOUT_MS ?? deploymentKind().readyTimeoutMs);

  let port = await freePort();
  let running: Running | undefined;
  let previousOutput = '';
  /** True while stop() is stopping the server (its exit is then expected). */
  let stopping = false;

  const start = async (): Promise<void> => {
    const current = spawnServer(serverEnv(port, dataDir, envOverrides));
    running = current;
    await waitUntilReady(current, `http://127.0.0.1:${port}`, readyTimeoutMs);
    // A server that dies on its own makes every later request fail with "fetch failed": say why.
    void current.exited.then(({ code, signal }) => {
      if (running === current && !stopping) {
        console.error(`[flux-contract] Flux on port ${port} exited unexpectedly (code ${code}, signal ${signal}).\n--- server output (tail) ---\n${current.output().slice(-8_000)}`);
      }
    });
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (running === undefined) return null;
    const current = running;
    stopping = true;
    const code = await stopRunning(current, signal).finally(() => {
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
      return running?.child.pid;
    },
    dataDir,
    output: () => previousOutput + (running?.output() ?? ''),
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
  const port = env.PORT === undefined ? await freePort() : Number.NaN;
  const running = spawnServer(serverEnv(Number.isNaN(port) ? 0 : port, dataDir, env));
  const baseUrl = `http://127.0.0.1:${port}`;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void running.exited.then((value) => {
    exit = value;
  });
  let becameReady = false;
  const deadline = Date.now() + timeoutMs;
  while (exit === undefined && Date.now() < deadline) {
    if (!Number.isNaN(port) && (await readyStatus(baseUrl)) === 200) {
      becameReady = true;
      break;
    }
    await Promise.race([running.exited, delay(100)]);
  }
  if (exit === undefined) {
    await stopRunning(running, 'SIGKILL', 1_000);
    await rm(dataDir, { recursive: true, force: true });
    return { code: null, signal: null, becameReady, output: running.output() };
  }
  // Whatever the exited process left in its group goes too.
  await stopRunning(running, 'SIGKILL', 1_000);
  await rm(dataDir, { recursive: true, force: true });
  const finished = exit as { code: number | null; signal: NodeJS.Signals | null };
  return { code: finished.code, signal: finished.signal, becameReady, output: running.output() };
}

/** Environment for a public-mode deployment. */
export const publicEnv = (adminToken: string | undefined, extra: EnvOverrides = {}): EnvOverrides => ({
  FLUX_AUTH_ENABLED: 'true',
  ...(adminToken === undefined ? {} : { FLUX_ADMIN_TOKEN: adminToken }),
  ...extra,
});

/** A valid FLUX_ENCRYPTION_KEY: base64 of 32 bytes. */
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');
