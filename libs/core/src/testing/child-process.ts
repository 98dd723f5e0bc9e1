import { spawn } from 'node:child_process';
import { within } from './async.js';

export interface KilledRun<T> {
  /** The signal that ended the child (a crash fixture SIGKILLs itself). */
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** Every JSON line the child printed on stdout before it died: what it had acknowledged. */
  readonly reported: readonly T[];
}

/**
 * Runs a TypeScript fixture that does durable work, reports each acknowledged step as a JSON
 * line and then kills itself mid-flight, so a test can check that what was acknowledged survived.
 */
export async function runUntilKilled<T>(script: string, args: readonly string[], what: string, timeoutMs = 20_000): Promise<KilledRun<T>> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const signal = await within(new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig))), what, timeoutMs);
  const reported = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as T);
  return { signal, stderr, reported };
}
