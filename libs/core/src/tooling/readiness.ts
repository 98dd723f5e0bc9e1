/**
 * The one way the launchers, tests and benchmarks wait for a Flux process: poll `GET /ready`
 * until it answers 200, failing at a deadline or as soon as the watched process exits.
 */
import type { ChildProcess } from 'node:child_process';

/** How much of the output tail a readiness failure quotes. */
const QUOTED_OUTPUT_CHARS = 16 * 1024;

/** What a readiness wait watches of the process it waits for (a ServerProcess is one). */
export interface WatchedProcess {
  readonly name: string;
  readonly exit: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
  exited(): boolean;
  output(): string;
}

/** A process spawned by other means than deployment-process.ts, watched through `output`. */
export function watchedChild(name: string, child: ChildProcess, output: () => string): WatchedProcess {
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  return { name, exit, exited: () => child.exitCode !== null || child.signalCode !== null, output };
}

const delay = (ms: number): Promise<void> => new Promise((resolveDelay) => setTimeout(resolveDelay, ms));

/** The status of `GET <baseUrl>/ready`, or why there was none. */
export async function readyStatus(baseUrl: string): Promise<number | string> {
  try {
    const response = await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Polls `GET <baseUrl>/ready` until it answers 200. Fails at the deadline, or as soon as
 * `server` (when given) exits, quoting its output. It does not stop the server.
 */
export async function waitUntilReady(baseUrl: string, timeoutMs: number, server?: WatchedProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const what = server?.name ?? baseUrl;
  const quoted = (): string => (server === undefined ? '' : `\n--- output ---\n${server.output().slice(-QUOTED_OUTPUT_CHARS)}`);
  let last: number | string = 'no answer yet';
  while (Date.now() < deadline) {
    if (server?.exited() === true) {
      const { code, signal } = await server.exit;
      throw new Error(`${what} exited before it was ready (code ${code}, signal ${signal}).${quoted()}`);
    }
    last = await readyStatus(baseUrl);
    if (last === 200) return;
    await delay(100);
  }
  throw new Error(`${what} did not answer GET ${baseUrl}/ready with 200 within ${timeoutMs} ms (last: ${last}).${quoted()}`);
}
