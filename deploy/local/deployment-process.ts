/**
 * Starts a Flux deployment as a detached process group and waits for it to be ready: the one
 * launcher behind the HTTP/WebSocket contract suite, the benchmark, the soak and chaos runs.
 *
 * Each server leads its own group, so stopping it also stops every process it started (the
 * cluster launcher's reducers and gateways). Groups are tracked with @flux/core/tooling, which
 * kills whatever is left when the harness exits, however it exits.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { readClusterState } from './cluster-state.js';

export { readClusterState, type ClusterState } from './cluster-state.js';
export { readyStatus, waitUntilReady } from '@flux/core/tooling';
import {
  isTrackedProcessGroup,
  signalProcessGroup,
  stopProcessGroup,
  trackProcessGroup,
  untrackProcessGroup,
  waitUntilReady,
} from '@flux/core/tooling';

export type DeploymentKind = 'embedded' | 'cluster';

/** Entry point of each kind, relative to a Flux checkout. */
export const DEPLOYMENT_ENTRIES: Readonly<Record<DeploymentKind, string>> = {
  embedded: 'apps/flux/src/main.ts',
  cluster: 'deploy/local/start-cluster.ts',
};

/**
 * Where each process of a started deployment serves `GET /metrics`, by process name: the
 * embedded server itself (`flux`), or every process of the cluster (reducers on their own
 * metrics ports, gateways on their HTTP ports), read from the launcher's state file, which
 * `env` must name in FLUX_CLUSTER_STATE_FILE.
 */
export function deploymentMetricsUrls(kind: DeploymentKind, baseUrl: string, env: NodeJS.ProcessEnv): Record<string, string> {
  if (kind === 'embedded') return { flux: `${baseUrl}/metrics` };
  const stateFile = env.FLUX_CLUSTER_STATE_FILE;
  if (stateFile === undefined) throw new Error('the cluster names its metrics URLs only in FLUX_CLUSTER_STATE_FILE, which is not set');
  return { ...readClusterState(stateFile).metrics };
}

/** Deadline for `GET /ready` to answer 200 after a start: the cluster takes far longer. */
export const READY_TIMEOUT_MS: Readonly<Record<DeploymentKind, number>> = { embedded: 60_000, cluster: 180_000 };

const OUTPUT_TAIL_CHARS = 64 * 1024;

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  readonly name: string;
  /** Pid of the spawned process, which is also its process group id. */
  readonly pid: number;
  /** Resolves when the spawned process has exited (or could not be spawned). */
  readonly exit: Promise<ProcessExit>;
  /** The tail of what the group wrote to stdout and stderr. */
  output(): string;
  /** True once the spawned process has exited. */
  exited(): boolean;
  /** `signal` to the whole group, SIGKILL to what is left after `graceMs`; resolves with the exit code. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

export interface ProcessOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Appends everything the group writes to this file too (the tail alone is often not enough to diagnose). */
  readonly logFile?: string;
}

/** Runs `command` detached as a tracked process group, keeping the tail of its output. */
export function startServerProcess(name: string, command: string, args: readonly string[], options: ProcessOptions): ServerProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${command} ${args.join(' ')}`);
  const pid = child.pid;
  trackProcessGroup(pid);
  let tail = '';
  const file = options.logFile === undefined ? undefined : createWriteStream(options.logFile, { flags: 'a' });
  const append = (chunk: Buffer): void => {
    tail += chunk.toString('utf8');
    if (tail.length > OUTPUT_TAIL_CHARS) tail = tail.slice(-OUTPUT_TAIL_CHARS);
    file?.write(chunk);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let exitValue: ProcessExit | undefined;
  const exit = new Promise<ProcessExit>((resolveExit) => {
    child.once('exit', (code, signal) => {
      // An empty group's id may be reused: it must not be signalled at exit. A cluster launcher
      // that died leaving children behind stays tracked, so stop() still reaches them.
      if (!signalProcessGroup(pid, 0)) untrackProcessGroup(pid);
      exitValue = { code, signal };
      resolveExit(exitValue);
    });
    child.once('error', (error) => {
      append(Buffer.from(`\n[launcher] spawn error: ${error.message}\n`));
      exitValue = { code: -1, signal: null };
      resolveExit(exitValue);
    });
  });
  return {
    name,
    pid,
    exit,
    output: () => tail,
    exited: () => exitValue !== undefined,
    stop: async (signal = 'SIGTERM', graceMs = 15_000) => {
      if (isTrackedProcessGroup(pid)) await stopProcessGroup(pid, signal, graceMs);
      return (await exit).code;
    },
  };
}

export interface FluxProcessOptions {
  readonly kind: DeploymentKind;
  /** The Flux checkout to run (its own node_modules provide tsx). */
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  /** Extra Node.js flags for the embedded server (the cluster takes FLUX_CLUSTER_NODE_ARGS). */
  readonly nodeArgs?: readonly string[];
  /**
   * Run the embedded server as `npm start` does (scripts/start.mjs: compiled first, then no
   * TypeScript loader), where the checkout has that script, instead of its sources through tsx.
   */
  readonly asNpmStart?: boolean;
  /** Appends the deployment's whole output to this file too. */
  readonly logFile?: string;
}

/** `npm start`'s script (package.json), run with node directly. */
export const NPM_START_SCRIPT = 'scripts/start.mjs';
export const NPM_START_FLAGS = ['--enable-source-maps'];

/**
 * Starts one deployment of `kind` from `root`. `node` itself rather than `npm start`: no
 * wrapper process, so the spawned pid is the server itself. `--import tsx` resolves tsx from the
 * cwd, i.e. from the checkout's own node_modules.
 */
export function startFluxProcess(options: FluxProcessOptions): ServerProcess {
  const { kind, root, nodeArgs = [] } = options;
  const asNpmStart = options.asNpmStart === true && kind === 'embedded' && existsSync(join(root, NPM_START_SCRIPT));
  const args = asNpmStart
    ? [...nodeArgs, ...NPM_START_FLAGS, join(root, NPM_START_SCRIPT)]
    : [...(kind === 'embedded' ? nodeArgs : []), '--import', 'tsx', join(root, DEPLOYMENT_ENTRIES[kind])];
  return startServerProcess(`flux ${kind}`, process.execPath, args, {
    cwd: root,
    env: options.env,
    ...(options.logFile === undefined ? {} : { logFile: options.logFile }),
  });
}

/**
 * A server's environment: the harness's own, less every Flux or Node setting that would change
 * the server under test, plus `overrides` (undefined removes a variable).
 */
export function scrubbedEnv(overrides: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('FLUX_') || name.startsWith('VITEST')) delete env[name];
  }
  delete env.NODE_OPTIONS;
  delete env.NODE_ENV;
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Starts a deployment and waits until it is ready; a deployment that is not is stopped. */
export async function startReadyFluxProcess(
  options: FluxProcessOptions & { readonly baseUrl: string; readonly readyTimeoutMs?: number },
): Promise<ServerProcess> {
  const server = startFluxProcess(options);
  try {
    await waitUntilReady(options.baseUrl, options.readyTimeoutMs ?? READY_TIMEOUT_MS[options.kind], server);
  } catch (error) {
    await server.stop('SIGKILL', 1_000);
    throw error;
  }
  return server;
}
