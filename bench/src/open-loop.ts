/**
 * Open-loop load at a fixed offered rate, corrected for coordinated omission (as wrk2 does):
 * request i is due at t0 + i/rate whatever happened to earlier requests, and its latency is
 * measured from when it was due, not from when it could finally be sent. A server that stalls
 * therefore shows the full wait its clients would have seen, instead of the load generator
 * politely waiting with it and hiding the stall.
 */
import { Pool } from 'undici';
import { LatencyRecorder, type LatencySummary } from './latency-recorder.js';
import { LoadProbe, type LoadProbeSummary } from './load-probe.js';

export interface OpenLoopOptions {
  readonly baseUrl: string;
  readonly path: string;
  /** Offered rate, requests per second. */
  readonly rate: number;
  readonly durationSeconds: number;
  /** The body of request i; `dueEpochMs` is when it is due, in epoch ms with a fraction. */
  readonly body: (index: number, dueEpochMs: number) => string;
  /** How long to wait for answers after the last request is due; what is left counts as unfinished. */
  readonly drainTimeoutMs?: number;
  readonly serverCpuSeconds?: () => number;
  /** Told of each successful request. */
  readonly onOk?: (index: number) => void;
}

export interface OpenLoopResult {
  readonly offeredRate: number;
  readonly durationSeconds: number;
  readonly scheduled: number;
  readonly ok: number;
  /** Answers other than 2xx, by status. */
  readonly non2xx: Readonly<Record<string, number>>;
  /** Failed requests (connection errors, ...), by error code; not part of `latencyMs`. */
  readonly errors: Readonly<Record<string, number>>;
  /** Requests without an answer when the drain timeout ended the run (recorded at that lower bound). */
  readonly unfinished: number;
  /** Successful answers per second over the scheduled duration. */
  readonly achievedRate: number;
  /** From when each request was due to its answer. */
  readonly latencyMs: LatencySummary;
  /** From when each request was due to when it was handed to the client: the generator's own lag. */
  readonly sendLagMs: LatencySummary;
  readonly probe: LoadProbeSummary;
}

/** Connections of the client's pool; requests beyond them queue in the client, and the wait counts. */
const CONNECTIONS = 128;

const increment = (counts: Record<string, number>, key: string): void => {
  counts[key] = (counts[key] ?? 0) + 1;
};

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { baseUrl, path, rate, durationSeconds, body } = options;
  const total = Math.max(1, Math.round(rate * durationSeconds));
  const intervalMs = 1000 / rate;
  const pool = new Pool(baseUrl, { connections: CONNECTIONS, pipelining: 1, headersTimeout: 60_000, bodyTimeout: 60_000 });
  const latency = new LatencyRecorder();
  const sendLag = new LatencyRecorder();
  const non2xx: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let ok = 0;
  let answered = 0;
  const pending = new Map<number, number>();
  const probe = new LoadProbe(options.serverCpuSeconds);

  const send = (index: number, due: number): void => {
    const dueEpochMs = performance.timeOrigin + due;
    sendLag.record(performance.now() - due);
    pending.set(index, due);
    pool
      .request({ method: 'POST', path, body: body(index, dueEpochMs), headers: { 'content-type': 'application/json' } })
      .then(async (response) => {
        await response.body.dump();
        if (!pending.delete(index)) return;
        latency.record(performance.now() - due);
        if (response.statusCode >= 200 && response.statusCode < 300) {
          ok++;
          options.onOk?.(index);
        } else increment(non2xx, String(response.statusCode));
      })
      .catch((error: unknown) => {
        if (!pending.delete(index)) return;
        // Counted, not timed: a refused or reset connection fails in microseconds, and timing
        // those would pull the percentiles down just when the server is failing (as wrk2 does).
        increment(errors, (error as { code?: string }).code ?? (error instanceof Error ? error.name : 'error'));
      })
      .finally(() => {
        answered++;
      });
  };

  const start = performance.now();
  let next = 0;
  // Wakes often and sends everything that is due, so a late wake-up sends a burst (as a real
  // population of clients would) rather than shifting the whole schedule.
  while (next < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor((now - start) / intervalMs) + 1);
    for (; next < due; next++) send(next, start + next * intervalMs);
    if (next < total)
      await new Promise((resolveWake) => setTimeout(resolveWake, Math.min(1, Math.max(0, start + next * intervalMs - performance.now()))));
  }
  const drainDeadline = performance.now() + (options.drainTimeoutMs ?? 30_000);
  while (answered < total && performance.now() < drainDeadline) await new Promise((resolveWait) => setTimeout(resolveWait, 5));
  const unfinished = pending.size;
  // Coordinated omission again: a request never answered waited at least this long.
  for (const due of pending.values()) latency.record(performance.now() - due);
  pending.clear();
  const probeSummary = probe.stop();
  await pool.destroy();
  return {
    offeredRate: rate,
    durationSeconds,
    scheduled: total,
    ok,
    non2xx,
    errors,
    unfinished,
    achievedRate: Math.round(ok / durationSeconds),
    latencyMs: latency.summary(),
    sendLagMs: sendLag.summary(),
    probe: probeSummary,
  };
}
