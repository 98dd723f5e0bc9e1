/**
 * What an operator scrapes from every process of a deployment: the embedded server's one
 * /metrics, or in the cluster each reducer's own metrics port and each gateway's /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import { batchOk, envelope, unique, waitFor, waitForEntity } from './support/client.js';
import { reducerMetricsUrls, scrape, total } from './support/metrics.js';

const PARTITIONS = 6;
const ENTITIES = 30;
let flux: Deployment;
let ids: string[];

beforeAll(async () => {
  flux = await startDeployment({ env: { FLUX_PARTITIONS: String(PARTITIONS) } });
  const prefix = unique('metrics');
  ids = Array.from({ length: ENTITIES }, (_, n) => `${prefix}/e${n}`);
  await batchOk(
    flux,
    ids.map((id, n) => envelope(id, { n })),
  );
  for (const id of ids) await waitForEntity(flux, id);
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await flux?.dispose();
});

/** The processes that run reducers: the embedded server, or the cluster's reducer shards. */
const reducerUrls = (): [string, string][] => reducerMetricsUrls(flux);

describe('/metrics of every process', () => {
  it('every reducer shows the lag of each partition it owns (0 once applied) and the commits that applied the events', async () => {
    const reducers = reducerUrls();
    expect(reducers.length).toBeGreaterThan(0);
    // The directory entity is kept current by appends of its own: wait for a moment with no lag.
    const scrapes = await waitFor(
      async () => {
        const all = await Promise.all(reducers.map(async ([name, url]) => ({ name, samples: await scrape(url) })));
        const lags = all.flatMap(({ samples }) => samples.filter((sample) => sample.name === 'flux_reducer_lag_events'));
        return lags.length === PARTITIONS && lags.every((lag) => lag.value === 0) ? all : undefined;
      },
      { timeoutMs: 20_000, what: `every partition's lag to be reported as 0 by ${reducers.map(([name]) => name).join(', ')}` },
    );

    const owners = scrapes.flatMap(({ name, samples }) =>
      samples.filter((sample) => sample.name === 'flux_reducer_lag_events').map((sample) => ({ name, partition: Number(sample.labels.partition) })),
    );
    // Each partition is reported by the one process that owns it.
    expect(owners.map((owner) => owner.partition).sort((a, b) => a - b)).toEqual(Array.from({ length: PARTITIONS }, (_, p) => p));
    for (const { name, samples } of scrapes) {
      expect(total(samples, 'flux_reducer_partitions_owned'), name).toBe(owners.filter((owner) => owner.name === name).length);
      expect(total(samples, 'flux_reducer_fenced_total'), name).toBe(0);
    }
    const everything = scrapes.flatMap(({ samples }) => samples);
    expect(total(everything, 'flux_events_applied_total')).toBeGreaterThanOrEqual(ENTITIES);
    expect(total(everything, 'flux_reducer_batch_records_sum')).toBeGreaterThanOrEqual(ENTITIES);
    expect(total(everything, 'flux_reducer_commit_duration_seconds_count')).toBeGreaterThan(0);
    expect(total(everything, 'flux_reducer_commit_duration_seconds_bucket', { le: '+Inf' })).toBe(
      total(everything, 'flux_reducer_commit_duration_seconds_count'),
    );
  });

  it("a reducer's metrics port answers /health and /ready as the gateways do", async () => {
    for (const [name, url] of reducerUrls()) {
      const base = url.replace(/\/metrics$/, '');
      const health = await fetch(`${base}/health`);
      expect([health.status, await health.json()], name).toEqual([200, { status: 'ok' }]);
      const ready = await fetch(`${base}/ready`);
      expect([ready.status, await ready.json()], name).toEqual([200, { status: 'ready' }]);
    }
  });

  it('the ingest role times its log appends; query gateways time their calls to each shard', async () => {
    const urls = flux.metricsUrls();
    const ingest = await scrape(urls.flux ?? urls['ingest-gateway']!);
    expect(total(ingest, 'flux_log_append_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(total(ingest, 'flux_events_accepted_total')).toBeGreaterThanOrEqual(ENTITIES);

    const gateways = Object.entries(urls).filter(([name]) => name.startsWith('query-gateway-'));
    if (urls.flux !== undefined) {
      expect(gateways).toEqual([]);
      return;
    }
    const calls = (await Promise.all(gateways.map(([, url]) => scrape(url)))).flat();
    // The reads above went to the shard of each entity through one of the query gateways.
    expect(total(calls, 'flux_grpc_client_duration_seconds_count', { method: 'GetEntity', code: 'OK' })).toBeGreaterThanOrEqual(ENTITIES);
    const shards = new Set(calls.filter((sample) => sample.name === 'flux_grpc_client_duration_seconds_count').map((sample) => sample.labels.shard));
    expect(shards.size).toBe(reducerUrls().length);
  });

  it('every process names its process metrics once (flux_process_*, flux_nodejs_*)', async () => {
    for (const [name, url] of Object.entries(flux.metricsUrls())) {
      const samples = await scrape(url);
      expect(total(samples, 'flux_process_resident_memory_bytes'), name).toBeGreaterThan(0);
      expect(
        samples.some((sample) => sample.name === 'flux_nodejs_eventloop_lag_max_seconds'),
        name,
      ).toBe(true);
      expect(
        samples.filter((sample) => /^flux_process_(process|nodejs)_/.test(sample.name)).map((sample) => sample.name),
        name,
      ).toEqual([]);
    }
  });
});
