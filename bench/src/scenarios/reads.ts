/**
 * Reads: `GET /api/state/entities/:id` throughput at saturation over a loaded set, in rounds
 * alternating with the bare Fastify baseline's GET route (loaded with the same entities), and
 * the latency of `GET /api/state/entities?prefix=` (one sub-prefix, a limited page, the whole set).
 */
import { startBaseline } from '../baseline.js';
import { batchLoad, type BatchLoadOptions, type BatchLoadResult } from '../batch-load.js';
import { EntitySet } from '../entity-set.js';
import { HttpClient, listPath } from '../http-client.js';
import { LatencyRecorder, type LatencySummary } from '../latency-recorder.js';
import { alternateSaturation, runSaturation, type AlternatingSaturation } from '../saturation.js';
import type { ScenarioContext } from './scenario-context.js';

export interface ListLatency {
  /** Entities a response must hold (the first request's; sub-prefixes may differ by one). Another count is an error. */
  readonly matches: number;
  readonly requests: number;
  readonly errors: number;
  readonly latencyMs: LatencySummary;
}

export interface ReadsResult {
  readonly entities: number;
  readonly subPrefixes: number;
  readonly load: BatchLoadResult;
  /** Flux and the baseline's `GET /api/state/entities/:id`, alternating; the ratio is Flux's. */
  readonly get: AlternatingSaturation;
  /** `?prefix=<sub-prefix>`: every match, unpaged. */
  readonly listPrefix: ListLatency;
  /** `?prefix=<sub-prefix>&limit=<pageLimit>`: the first page. */
  readonly listPage: ListLatency & { readonly limit: number };
  /** `?prefix=<set prefix>`: the whole set, unpaged (time to the last byte). */
  readonly listAll: ListLatency;
}

/**
 * Sequential requests, one at a time: the latency of a list on an otherwise idle server. Each
 * response must hold its request's `matches` entities; the result reports the first request's.
 */
async function listLatency(client: HttpClient, requests: readonly { path: string; matches: number }[]): Promise<ListLatency> {
  const recorder = new LatencyRecorder();
  let errors = 0;
  for (const { path, matches } of requests) {
    const started = performance.now();
    const response = await client.get(path);
    recorder.record(performance.now() - started);
    if (response.status !== 200 || (JSON.parse(response.body) as unknown[]).length !== matches) errors++;
  }
  return { matches: requests[0]?.matches ?? 0, requests: requests.length, errors, latencyMs: recorder.summary() };
}

export async function reads(context: ScenarioContext): Promise<ReadsResult> {
  const { deployment, profile, log } = context;
  const parameters = profile.reads;
  const set = new EntitySet(`${context.idPrefix}reads/`, parameters.entities, parameters.subPrefixes);
  log(`reads: loading ${parameters.entities} entities over ${parameters.subPrefixes} sub-prefixes`);
  const loading: Omit<BatchLoadOptions, 'baseUrl'> = {
    set,
    events: parameters.entities,
    batchSize: 1000,
    concurrency: 8,
    materialiseTimeoutMs: 300_000,
  };
  const load = await batchLoad({ ...loading, baseUrl: deployment.baseUrl, serverCpuSeconds: deployment.cpuSeconds });

  const baselineServer = await startBaseline(context.repoRoot);
  let get: AlternatingSaturation;
  try {
    log('reads: loading the same entities into the baseline');
    await batchLoad({ ...loading, baseUrl: baselineServer.baseUrl });
    log(`reads: GET /api/state/entities/:id, ${parameters.getConnections} connections for ${parameters.getSeconds} s per round`);
    // A multiplicative stride visits the ids in a scattered order, not in key order; each side
    // walks the same order from the start.
    const stride = 7919;
    const saturateGet = (baseUrl: string, serverCpuSeconds?: () => number) => {
      let next = 0;
      return runSaturation({
        baseUrl,
        method: 'GET',
        next: () => ({ path: `/api/state/entities/${encodeURIComponent(set.id((next++ * stride) % set.count))}` }),
        connections: parameters.getConnections,
        durationSeconds: parameters.getSeconds,
        ...(serverCpuSeconds === undefined ? {} : { serverCpuSeconds }),
      });
    };
    get = await alternateSaturation({
      rounds: parameters.getRounds,
      connections: parameters.getConnections,
      label: 'reads',
      log,
      baseline: () => saturateGet(baselineServer.baseUrl),
      flux: () => saturateGet(deployment.baseUrl, deployment.cpuSeconds),
    });
  } finally {
    await baselineServer.stop();
  }

  log(`reads: list latency (${parameters.listSamples} requests per kind)`);
  const client = new HttpClient(deployment.baseUrl, 1);
  try {
    const groups = Array.from({ length: parameters.listSamples }, (_, sample) => sample % parameters.subPrefixes);
    const listPrefix = await listLatency(
      client,
      groups.map((group) => ({ path: listPath(set.groupPrefix(group)), matches: set.groupSize(group) })),
    );
    const listPage = await listLatency(
      client,
      groups.map((group) => ({
        path: listPath(set.groupPrefix(group), parameters.pageLimit),
        matches: Math.min(parameters.pageLimit, set.groupSize(group)),
      })),
    );
    const listAll = await listLatency(
      client,
      Array.from({ length: parameters.fullListSamples }, () => ({ path: listPath(set.prefix), matches: set.count })),
    );
    return {
      entities: parameters.entities,
      subPrefixes: parameters.subPrefixes,
      load,
      get,
      listPrefix,
      listPage: { ...listPage, limit: parameters.pageLimit },
      listAll,
    };
  } finally {
    await client.close();
  }
}
