/** Figures a Flux process publishes on GET /metrics that the harness reads. */
import type { HttpClient } from './http-client.js';

/** prom-client's event-loop delay maximum, under the prefix FluxMetrics gives the default metrics. */
const LOOP_DELAY_MAX = 'flux_process_nodejs_eventloop_lag_max_seconds';
/** prom-client samples the loop with this period (its default precision); every sample includes it. */
const LOOP_SAMPLE_MS = 10;

/**
 * The server's worst event-loop delay, in ms, since the previous scrape (prom-client restarts
 * the histogram at every scrape, so a first call opens the window the next one reads).
 * Undefined when the metric is missing.
 */
export async function serverEventLoopDelayMaxMs(client: HttpClient): Promise<number | undefined> {
  const response = await client.get('/metrics');
  if (response.status !== 200) throw new Error(`GET /metrics: HTTP ${response.status}`);
  const line = response.body.split('\n').find((candidate) => candidate.startsWith(`${LOOP_DELAY_MAX} `));
  if (line === undefined) return undefined;
  const seconds = Number(line.slice(LOOP_DELAY_MAX.length + 1));
  return Number.isFinite(seconds) ? Math.round(Math.max(0, seconds * 1000 - LOOP_SAMPLE_MS) * 100) / 100 : undefined;
}

/**
 * The server's worst event-loop delay over a window (one scenario). Every scrape of /metrics
 * restarts the server's histogram, so a scenario that scrapes for figures of its own does it
 * through the window's `scrape()`, which keeps the window's worst too.
 */
export class ServerLoopDelayWindow {
  private worst: number | undefined;

  constructor(private readonly client: HttpClient) {}

  /** Starts the window: scrapes once and forgets what that read (it belongs to before). */
  async open(): Promise<void> {
    await serverEventLoopDelayMaxMs(this.client);
    this.worst = undefined;
  }

  /** The worst delay since the previous scrape, kept towards the window's worst. */
  async scrape(): Promise<number | undefined> {
    const delay = await serverEventLoopDelayMaxMs(this.client);
    if (delay !== undefined) this.worst = Math.max(this.worst ?? 0, delay);
    return delay;
  }

  /** Ends the window: the worst delay since open(), undefined when the server never said. */
  async close(): Promise<number | undefined> {
    await this.scrape();
    return this.worst;
  }
}
