/** Figures the Flux processes publish on GET /metrics that the harness reads. */

/**
 * prom-client's event-loop delay maximum under the names Flux gives it: today's first, then the
 * doubled prefix older commits used (so `--flux-root` comparisons still read it).
 */
const LOOP_DELAY_MAX_NAMES = ['flux_nodejs_eventloop_lag_max_seconds', 'flux_process_nodejs_eventloop_lag_max_seconds'];
/** prom-client samples the loop with this period (its default precision); every sample includes it. */
const LOOP_SAMPLE_MS = 10;

/** The worst event-loop delay in ms in one /metrics text, less the sampling period; undefined when absent. */
export function eventLoopDelayMaxMs(metricsText: string): number | undefined {
  const lines = metricsText.split('\n');
  for (const name of LOOP_DELAY_MAX_NAMES) {
    const line = lines.find((candidate) => candidate.startsWith(`${name} `));
    if (line === undefined) continue;
    const seconds = Number(line.slice(name.length + 1));
    return Number.isFinite(seconds) ? Math.round(Math.max(0, seconds * 1000 - LOOP_SAMPLE_MS) * 100) / 100 : undefined;
  }
  return undefined;
}

export interface LoopDelayPeak {
  /** The worst delay of any process, ms. */
  readonly maxMs: number;
  /** The process it was seen in. */
  readonly process: string;
}

/**
 * The worst event-loop delay, in ms, of the processes at `metricsUrls` (name → URL) since the
 * previous scrape of each (prom-client restarts the histogram at every scrape, so a first call
 * opens the window the next one reads), and which process had it. Undefined when no process
 * publishes the metric.
 */
export async function worstEventLoopDelay(metricsUrls: Readonly<Record<string, string>>): Promise<LoopDelayPeak | undefined> {
  const delays = await Promise.all(
    Object.entries(metricsUrls).map(async ([name, url]) => {
      const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`GET ${url} (${name}): HTTP ${response.status}`);
      return { name, maxMs: eventLoopDelayMaxMs(text) };
    }),
  );
  let worst: LoopDelayPeak | undefined;
  for (const { name, maxMs } of delays) {
    if (maxMs !== undefined && (worst === undefined || maxMs > worst.maxMs)) worst = { process: name, maxMs };
  }
  return worst;
}
