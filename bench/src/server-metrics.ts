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

/**
 * The worst event-loop delay over a window (one scenario) of every process of the deployment.
 * Every scrape of /metrics restarts a process's histogram, so a scenario that scrapes for
 * figures of its own does it through the window's `scrape()`, which keeps the window's worst too.
 */
export class ServerLoopDelayWindow {
  private worst: LoopDelayPeak | undefined;

  constructor(private readonly metricsUrls: () => Readonly<Record<string, string>>) {}

  /** Starts the window: scrapes once and forgets what that read (it belongs to before). */
  async open(): Promise<void> {
    await worstEventLoopDelay(this.metricsUrls());
    this.worst = undefined;
  }

  /** The worst delay since the previous scrape, kept towards the window's worst. */
  async scrape(): Promise<LoopDelayPeak | undefined> {
    const peak = await worstEventLoopDelay(this.metricsUrls());
    if (peak !== undefined && (this.worst === undefined || peak.maxMs > this.worst.maxMs)) this.worst = peak;
    return peak;
  }

  /** Ends the window: the worst delay since open(), undefined when no process said. */
  async close(): Promise<LoopDelayPeak | undefined> {
    await this.scrape();
    return this.worst;
  }
}
