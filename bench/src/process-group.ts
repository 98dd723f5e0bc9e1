/**
 * Servers under test run detached, each in its own process group, so stopping one stops every
 * process it started (the cluster launcher's reducers and gateways too). Every group started
 * here is killed when the harness exits, whether it finishes, fails or is interrupted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { isTrackedProcessGroup, stopProcessGroup, trackProcessGroup } from '@flux/core';

const OUTPUT_TAIL_CHARS = 32 * 1024;

export interface ServerProcess {
  readonly name: string;
  /** Pid of the spawned process, which is also its process group id. */
  readonly pid: number;
  /** The tail of what the group wrote to stdout and stderr. */
  output(): string;
  /** True once the spawned process has exited. */
  exited(): boolean;
  /** SIGTERM to the whole group, SIGKILL to what is left 15 s later. */
  stop(): Promise<void>;
}

/**
 * Runs `cleanup` once on SIGINT/SIGTERM, then exits with 130. Any tracked group that cleanup
 * did not get to is killed at exit (see trackProcessGroup).
 */
export function onInterrupt(cleanup: () => Promise<void>): void {
  let interrupted = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the deployment\n`);
    const hardStop = setTimeout(() => process.exit(130), 20_000);
    hardStop.unref();
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

export interface ServerProcessOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Appends everything the group writes to this file too (the tail alone is often not enough to diagnose). */
  readonly logFile?: string;
}

export function startServerProcess(name: string, command: string, args: readonly string[], options: ServerProcessOptions): ServerProcess {
  const child: ChildProcess = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${command} ${args.join(' ')}`);
  const pid = child.pid;
  trackProcessGroup(pid);
  let tail = '';
  const file = options.logFile === undefined ? undefined : createWriteStream(options.logFile, { flags: 'a' });
  const append = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    file?.write(chunk);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let hasExited = false;
  child.once('exit', () => {
    hasExited = true;
    file?.end();
  });
  child.once('error', (error) => {
    append(Buffer.from(`\n[bench] spawn error: ${error.message}\n`));
    hasExited = true;
  });

  return {
    name,
    pid,
    output: () => tail,
    exited: () => hasExited,
    stop: async () => {
      if (isTrackedProcessGroup(pid)) await stopProcessGroup(pid);
    },
  };
}

export const delay = (ms: number): Promise<void> => new Promise((resolveDelay) => setTimeout(resolveDelay, ms));


/** Polls `GET <url>` until it answers 200; fails early with the server's output if it exits. */
export async function waitForOk(url: string, server: ServerProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (server.exited()) throw new Error(`${server.name} exited before ${url} answered 200.\n--- output ---\n${server.output().slice(-4000)}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await delay(100);
  }
  throw new Error(`${server.name}: ${url} did not answer 200 within ${timeoutMs} ms (last: ${last}).\n--- output ---\n${server.output().slice(-4000)}`);
}
