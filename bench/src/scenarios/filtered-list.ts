/**
 * Filtered list: `GET /api/state/entities?filter=` over a loaded set, with a selective filter
 * (`v = 7` matches about 1 entity in 97): the first page of `pageLimit`, the walk through every
 * page by cursor, and the whole set unpaged (streamed). A filtered page examines a bounded
 * number of entities, so the walk takes several requests however few entities match; the
 * scenario's worst server event-loop delay shows that none of them holds the loop.
 */
import { batchLoad, type BatchLoadResult } from '../batch-load.js';
import { EntitySet } from '../entity-set.js';
import { HttpClient } from '../http-client.js';
import { LatencyRecorder, type LatencySummary } from '../latency-recorder.js';
import type { ScenarioContext } from './scenario-context.js';

/** Every loaded entity i holds `v: i % 97` (see `seqEvent`). */
const FILTER = 'v = 7';
const matchesOf = (entities: number): number => (entities > 7 ? Math.floor((entities - 1 - 7) / 97) + 1 : 0);

export interface FilteredListResult {
  readonly entities: number;
  readonly filter: string;
  /** Entities the filter matches in the set. */
  readonly matches: number;
  readonly load: BatchLoadResult;
  /** `?prefix=&filter=&limit=`: the first page, sequential requests. */
  readonly firstPage: {
    readonly limit: number;
    readonly requests: number;
    readonly errors: number;
    readonly matches: number;
    readonly latencyMs: LatencySummary;
  };
  /** Every page by cursor, one walk after another: requests per walk, each request's latency, each walk's time. */
  readonly walk: {
    readonly limit: number;
    readonly walks: number;
    readonly requestsPerWalk: number;
    readonly errors: number;
    readonly requestLatencyMs: LatencySummary;
    readonly walkMs: LatencySummary;
  };
  /** `?prefix=&filter=` unpaged: every match in one streamed response (time to the last byte). */
  readonly unpaged: { readonly requests: number; readonly errors: number; readonly latencyMs: LatencySummary };
  /**
   * The worst event-loop delay of any server process while the lists were answered (the
   * loading excluded, unlike the scenario's own figure); null when unknown.
   */
  readonly listsEventLoopDelayMaxMs: { readonly firstPage: number | null; readonly walk: number | null; readonly unpaged: number | null };
}

export async function filteredList(context: ScenarioContext): Promise<FilteredListResult> {
  const { deployment, profile, log } = context;
  const parameters = profile.filteredList;
  const set = new EntitySet(`${context.idPrefix}filtered/`, parameters.entities, 1);
  const matches = matchesOf(parameters.entities);
  log(`filtered list: loading ${parameters.entities} entities`);
  const load = await batchLoad({
    set,
    events: parameters.entities,
    batchSize: 1000,
    concurrency: 8,
    materialiseTimeoutMs: 300_000,
    baseUrl: deployment.baseUrl,
    serverCpuSeconds: deployment.cpuSeconds,
  });
  const base = `/api/state/entities?prefix=${encodeURIComponent(set.prefix)}&filter=${encodeURIComponent(FILTER)}`;
  const client = new HttpClient(deployment.baseUrl, 1);
  const { serverLoop } = context;
  try {
    // Closes the part of the window the loading delayed.
    await serverLoop?.scrape();
    log(`filtered list: first page of ${parameters.pageLimit} with ${FILTER} (${matches} matches), ${parameters.samples} requests`);
    const first = new LatencyRecorder();
    let firstErrors = 0;
    let firstMatches = 0;
    for (let sample = 0; sample < parameters.samples; sample++) {
      const started = performance.now();
      const response = await client.getPage(`${base}&limit=${parameters.pageLimit}`);
      first.record(performance.now() - started);
      if (response.status !== 200) firstErrors++;
      else firstMatches = (JSON.parse(response.body) as unknown[]).length;
    }

    const firstPageDelay = await serverLoop?.scrape();

    log(`filtered list: ${parameters.walks} walks through every page by cursor`);
    const requestLatency = new LatencyRecorder();
    const walkTimes = new LatencyRecorder();
    let walkErrors = 0;
    let requestsPerWalk = 0;
    for (let walk = 0; walk < parameters.walks; walk++) {
      const walkStarted = performance.now();
      let cursor: string | undefined;
      let found = 0;
      let requests = 0;
      do {
        const started = performance.now();
        const response = await client.getPage(`${base}&limit=${parameters.pageLimit}${cursor === undefined ? '' : `&cursor=${cursor}`}`);
        requestLatency.record(performance.now() - started);
        requests++;
        if (response.status !== 200) {
          walkErrors++;
          break;
        }
        found += (JSON.parse(response.body) as unknown[]).length;
        cursor = response.nextCursor;
      } while (cursor !== undefined);
      walkTimes.record(performance.now() - walkStarted);
      requestsPerWalk = requests;
      if (found !== matches) walkErrors++;
    }

    const walkDelay = await serverLoop?.scrape();

    log(`filtered list: ${parameters.unpagedSamples} unpaged requests`);
    const unpaged = new LatencyRecorder();
    let unpagedErrors = 0;
    for (let sample = 0; sample < parameters.unpagedSamples; sample++) {
      const started = performance.now();
      const response = await client.get(base);
      unpaged.record(performance.now() - started);
      if (response.status !== 200 || (JSON.parse(response.body) as unknown[]).length !== matches) unpagedErrors++;
    }
    const unpagedDelay = await serverLoop?.scrape();
    return {
      entities: parameters.entities,
      filter: FILTER,
      matches,
      load,
      firstPage: {
        limit: parameters.pageLimit,
        requests: parameters.samples,
        errors: firstErrors,
        matches: firstMatches,
        latencyMs: first.summary(),
      },
      walk: {
        limit: parameters.pageLimit,
        walks: parameters.walks,
        requestsPerWalk,
        errors: walkErrors,
        requestLatencyMs: requestLatency.summary(),
        walkMs: walkTimes.summary(),
      },
      unpaged: { requests: parameters.unpagedSamples, errors: unpagedErrors, latencyMs: unpaged.summary() },
      listsEventLoopDelayMaxMs: {
        firstPage: firstPageDelay?.maxMs ?? null,
        walk: walkDelay?.maxMs ?? null,
        unpaged: unpagedDelay?.maxMs ?? null,
      },
    };
  } finally {
    await client.close();
  }
}
