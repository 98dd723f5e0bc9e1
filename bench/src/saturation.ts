/**
 * Throughput at saturation with autocannon: a closed loop of `connections` keep-alive
 * connections, each sending its next request as soon as the previous one is answered, for a
 * fixed duration. Closed-loop latencies are reported for information only; the latency figures
 * that matter come from the open-loop runs.
 */
import autocannon from 'autocannon';
import { LoadProbe, type LoadProbeSummary } from './load-probe.js';

export interface SaturationOptions {
  readonly baseUrl: string;
  readonly method: 'GET' | 'POST';
  /** Path and body of the next request, and a tag handed to onOk when it succeeds; called once per request. */
  readonly next: () => { readonly path: string; readonly body?: string; readonly tag?: number };
  readonly onOk?: (tag: number) => void;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly serverCpuSeconds?: () => number;
}

export interface SaturationResult {
  readonly connections: number;
  readonly durationSeconds: number;
  /** 2xx answers per second. */
  readonly requestsPerSecond: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  /** Closed-loop latency (ms, autocannon's 1 ms resolution). */
  readonly latencyMs: { readonly mean: number; readonly p50: number; readonly p99: number; readonly max: number };
  readonly probe: LoadProbeSummary;
}

export async function runSaturation(options: SaturationOptions): Promise<SaturationResult> {
  const probe = new LoadProbe(options.serverCpuSeconds);
  const result = await autocannon({
    url: options.baseUrl,
    connections: options.connections,
    duration: options.durationSeconds,
    method: options.method,
    headers: options.method === 'POST' ? { 'content-type': 'application/json' } : {},
    requests: [
      {
        // autocannon keeps one context per connection, and with one request in flight per
        // connection the context of an answer is the one its request was built with.
        setupRequest: (request, context) => {
          const { path, body, tag } = options.next();
          (context as { tag?: number }).tag = tag;
          return { ...request, path, ...(body === undefined ? {} : { body }) };
        },
        onResponse: (status, _body, context) => {
          const { tag } = context as { tag?: number };
          if (status >= 200 && status < 300 && tag !== undefined) options.onOk?.(tag);
        },
      },
    ],
  });
  const probeSummary = probe.stop();
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, (stats as { count: number }).count]),
  );
  return {
    connections: options.connections,
    durationSeconds: result.duration,
    requestsPerSecond: Math.round(result['2xx'] / result.duration),
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    latencyMs: { mean: result.latency.average, p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    probe: probeSummary,
  };
}

/** The same saturation load on the bare Fastify baseline and on Flux, in alternating rounds. */
export interface AlternatingSaturation {
  readonly connections: number;
  readonly rounds: number;
  readonly baseline: readonly SaturationResult[];
  readonly flux: readonly SaturationResult[];
  /** Mean over the rounds. */
  readonly baselineRequestsPerSecond: number;
  readonly fluxRequestsPerSecond: number;
  /** Flux ÷ baseline. */
  readonly ratio: number;
}

export interface AlternatingOptions {
  readonly rounds: number;
  readonly connections: number;
  /** Names the rounds in the log (`ingest`, `reads`). */
  readonly label: string;
  readonly log: (message: string) => void;
  readonly baseline: () => Promise<SaturationResult>;
  readonly flux: () => Promise<SaturationResult>;
  /** Runs after each Flux round (waiting for a backlog to be applied). */
  readonly afterFlux?: () => Promise<void>;
}

const mean = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);

/** Alternating rounds spread slow drifts in the machine's load over both sides. */
export async function alternateSaturation(options: AlternatingOptions): Promise<AlternatingSaturation> {
  const baseline: SaturationResult[] = [];
  const flux: SaturationResult[] = [];
  for (let round = 0; round < options.rounds; round++) {
    options.log(`${options.label}: saturation round ${round + 1}/${options.rounds}, baseline`);
    baseline.push(await options.baseline());
    options.log(`${options.label}: saturation round ${round + 1}/${options.rounds}, flux`);
    flux.push(await options.flux());
    await options.afterFlux?.();
  }
  const baselineRequestsPerSecond = Math.round(mean(baseline.map((run) => run.requestsPerSecond)));
  const fluxRequestsPerSecond = Math.round(mean(flux.map((run) => run.requestsPerSecond)));
  return {
    connections: options.connections,
    rounds: options.rounds,
    baseline,
    flux,
    baselineRequestsPerSecond,
    fluxRequestsPerSecond,
    ratio: baselineRequestsPerSecond === 0 ? 0 : Math.round((fluxRequestsPerSecond / baselineRequestsPerSecond) * 1000) / 1000,
  };
}
