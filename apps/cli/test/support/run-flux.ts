/** Runs the real `flux` bin (node_modules/.bin/flux, as `npx flux` does) in a child process. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../../apps/flux/test/support/deployment.js';

export const FLUX_BIN = join(REPO_ROOT, 'node_modules', '.bin', 'flux');

export interface FluxRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Written to stdin, which is then closed (stdin is otherwise empty). */
  readonly input?: string;
  /** Environment on top of a scrubbed one (no FLUX_* of the caller's). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs?: number;
}

/** The caller's environment without its Flux settings, so every test states its own. */
export function cleanEnv(extra: Readonly<Record<string, string | undefined>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('FLUX_')) env[name] = value;
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) env[name] = value;
  return env;
}

export function spawnFlux(args: readonly string[], options: RunOptions = {}): ChildProcessWithoutNullStreams {
  return spawn(FLUX_BIN, [...args], { cwd: REPO_ROOT, env: cleanEnv(options.env) });
}

/** Output collected from a running process. */
export function collect(child: ChildProcessWithoutNullStreams, timeoutMs = 25_000): Promise<FluxRun> {
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`flux did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function runFlux(args: readonly string[], options: RunOptions = {}): Promise<FluxRun> {
  const child = spawnFlux(args, options);
  const result = collect(child, options.timeoutMs);
  child.stdin.end(options.input ?? '');
  return result;
}

/** Resolves once `child` has written something to stderr that matches `pattern`. */
export function stderrMatching(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer | string): void => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        child.stderr.off('data', onData);
        resolve(seen);
      }
    };
    child.stderr.on('data', onData);
    child.once('close', () => reject(new Error(`flux exited before writing ${pattern} to stderr; it wrote: ${seen}`)));
  });
}

/** Parses stdout as one JSON document, with the run in the message when it is not. */
export function jsonOf(run: FluxRun): unknown {
  try {
    return JSON.parse(run.stdout) as unknown;
  } catch {
    throw new Error(`stdout is not JSON (exit ${run.code})\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }
}

/** Runs a shell script in which "$FLUX" is the bin (for pipelines and completion). */
export function runShell(script: string, options: RunOptions = {}, shell: 'bash' | 'zsh' = 'bash'): Promise<FluxRun> {
  // zsh -f: no start-up files of the machine's.
  const child = spawn(shell, shell === 'zsh' ? ['-f', '-c', script] : ['-c', script], {
    cwd: REPO_ROOT,
    env: cleanEnv({ ...options.env, FLUX: FLUX_BIN }),
  });
  const result = collect(child, options.timeoutMs);
  child.stdin.end(options.input ?? '');
  return result;
}
