/** Child processes of the cluster suites: each in a process group of its own, its output kept. */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signalProcessGroup } from '@flux/core/tooling';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');

/**
 * Starts `command` in its own process group (so the group can be signalled, children included).
 * Its output is appended to `output` (the last 5000 chunks), and each complete line goes to
 * `onLine`: a pipe read can end in the middle of a line, so each stream keeps its unfinished one.
 */
export function startProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  output: string[],
  onLine?: (line: string) => void,
): ChildProcess {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const collector = (): ((chunk: Buffer) => void) => {
    let partial = '';
    return (chunk) => {
      const text = chunk.toString('utf8');
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      if (onLine !== undefined) for (const line of lines) onLine(line);
      output.push(text);
      if (output.length > 5000) output.splice(0, output.length - 5000);
    };
  };
  child.stdout?.on('data', collector());
  child.stderr?.on('data', collector());
  return child;
}

/** Signals the child's group and resolves once it exited (SIGKILL after 15 s). */
export function stopGroup(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const group = child.pid;
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => signalProcessGroup(group, 'SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveExit();
    });
    if (!signalProcessGroup(group, signal)) {
      // Already gone.
      clearTimeout(timer);
      resolveExit();
    }
  });
}

export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
