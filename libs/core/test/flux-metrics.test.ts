import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { consumerLag, FluxMetrics, LAG_SCRAPE_TIMEOUT_MS, MAX_SHARD_LABELS, type PartitionLag, type ReducerStatus } from '../src/index.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

const status = (lag: () => Promise<readonly PartitionLag[]>, partitionsOwned = 2): ReducerStatus => ({ partitionsOwned, lag });

/** Every role's metrics registered, as the embedded process (plus the gateways' shard calls) has them. */
function everyMetric(): FluxMetrics {
  const metrics = new FluxMetrics({ entities: async () => 5 });
  metrics.httpRequests();
  metrics.websocketMetrics();
  metrics.ingestObserver();
  metrics.reducerObserver(status(async () => []));
  metrics.shardCallObserver();
  metrics.mcpSessions(() => 0);
  return metrics;
}

const names = (metrics: FluxMetrics): string[] => metrics.registry.getMetricsAsArray().map((metric) => metric.name);

describe('consumerLag', () => {
  it('is the records between the last applied offset and the log end', () => {
    expect(consumerLag(10, 9)).toBe(0);
    expect(consumerLag(10, 6)).toBe(3);
    // Nothing applied yet: the whole partition.
    expect(consumerLag(10, -1)).toBe(10);
    expect(consumerLag(0, -1)).toBe(0);
  });

  it('goes negative when the log is shorter than what was applied (a recreated topic), rather than hiding it', () => {
    expect(consumerLag(3, 9)).toBe(-7);
  });
});

describe('FluxMetrics', () => {
  it('names the process metrics flux_process_* and flux_nodejs_* (no doubled prefix)', () => {
    const all = names(new FluxMetrics());
    expect(all).toContain('flux_process_resident_memory_bytes');
    expect(all).toContain('flux_process_cpu_seconds_total');
    expect(all).toContain('flux_nodejs_eventloop_lag_max_seconds');
    expect(all).toContain('flux_nodejs_eventloop_lag_p99_seconds');
    expect(all.filter((name) => name.startsWith('flux_process_process_') || name.startsWith('flux_process_nodejs_'))).toEqual([]);
  });

  it('exposes a role’s metrics only once the role registered them, and registers each group once', () => {
    const metrics = new FluxMetrics();
    expect(names(metrics).filter((name) => /^flux_(events|reducer|grpc|log|http|websocket)_/.test(name))).toEqual([]);
    expect(metrics.ingestObserver()).toBe(metrics.ingestObserver());
    expect(metrics.shardCallObserver()).toBe(metrics.shardCallObserver());
    const reducers = metrics.reducerObserver(status(async () => []));
    expect(metrics.reducerObserver(status(async () => []))).toBe(reducers);
    expect(metrics.httpRequests()).toBe(metrics.httpRequests());
    expect(metrics.websocketMetrics()).toBe(metrics.websocketMetrics());
    expect(names(metrics)).toEqual(
      expect.arrayContaining(['flux_events_accepted_total', 'flux_reducer_lag_events', 'flux_grpc_client_duration_seconds']),
    );
  });

  it('reports the lag of each owned partition at scrape time, and commits, batches and fences as they happen', async () => {
    let lags: PartitionLag[] = [
      { partition: 1, records: 0 },
      { partition: 4, records: 120 },
    ];
    const metrics = new FluxMetrics();
    const observer = metrics.reducerObserver(status(async () => lags));
    observer.committed(4, 3, { records: 5, seconds: 0.004 });
    observer.committed(4, 2, { records: 2, seconds: 0.02 });
    observer.fenced(1, 'commit');
    observer.refused('entity_limit');

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^flux_reducer_lag_events\{partition="1"\} 0$/m);
    expect(text).toMatch(/^flux_reducer_lag_events\{partition="4"\} 120$/m);
    expect(text).toMatch(/^flux_reducer_partitions_owned 2$/m);
    expect(text).toMatch(/^flux_events_applied_total\{partition="4"\} 5$/m);
    expect(text).toMatch(/^flux_reducer_commit_duration_seconds_count 2$/m);
    expect(text).toMatch(/^flux_reducer_commit_duration_seconds_bucket\{le="0.005"\} 1$/m);
    expect(text).toMatch(/^flux_reducer_batch_records_bucket\{le="2"\} 1$/m);
    expect(text).toMatch(/^flux_reducer_batch_records_sum 7$/m);
    expect(text).toMatch(/^flux_reducer_fenced_total\{partition="1",detected_by="commit"\} 1$/m);
    expect(text).toMatch(/^flux_events_refused_total\{reason="entity_limit"\} 1$/m);

    // A partition handed over is no longer reported.
    lags = [{ partition: 4, records: 0 }];
    expect(await metrics.registry.metrics()).not.toMatch(/^flux_reducer_lag_events\{partition="1"\}/m);
  });

  it('leaves the lag out of a scrape when the log fails or does not answer in time, and the rest in', async () => {
    let lag: () => Promise<readonly PartitionLag[]> = async () => [{ partition: 0, records: 3 }];
    const metrics = new FluxMetrics();
    metrics.reducerObserver(status(() => lag()));
    expect(await metrics.registry.metrics()).toMatch(/^flux_reducer_lag_events\{partition="0"\} 3$/m);

    lag = () => Promise.reject(new Error('broker unreachable'));
    const failed = await metrics.registry.metrics();
    expect(failed).not.toMatch(/^flux_reducer_lag_events\{/m);
    expect(failed).toMatch(/^flux_reducer_partitions_owned 2$/m);

    lag = () => new Promise(() => {});
    const started = performance.now();
    const slow = await metrics.registry.metrics();
    expect(performance.now() - started).toBeGreaterThanOrEqual(LAG_SCRAPE_TIMEOUT_MS - 50);
    expect(slow).not.toMatch(/^flux_reducer_lag_events\{/m);
  });

  it('times log appends by outcome and shard calls by method, shard and status', async () => {
    const metrics = new FluxMetrics();
    const ingest = metrics.ingestObserver();
    ingest.logAppended(0.003, 'ok');
    ingest.logAppended(1.5, 'error');
    metrics.shardCallObserver().shardCallEnded({ method: 'GetEntity', shard: 2, code: 'DEADLINE_EXCEEDED', seconds: 1.0 });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^flux_log_append_duration_seconds_count\{outcome="ok"\} 1$/m);
    expect(text).toMatch(/^flux_log_append_duration_seconds_count\{outcome="error"\} 1$/m);
    expect(text).toMatch(/^flux_grpc_client_duration_seconds_count\{method="GetEntity",shard="2",code="DEADLINE_EXCEEDED"\} 1$/m);
  });

  it('labels shard calls by reducer address, up to a bound of distinct addresses', async () => {
    const metrics = new FluxMetrics();
    const observer = metrics.shardCallObserver();
    for (let i = 0; i <= MAX_SHARD_LABELS; i++)
      observer.shardCallEnded({ method: 'GetEntity', shard: `10.0.0.${i}:50051`, code: 'OK', seconds: 0.001 });
    observer.shardCallEnded({ method: 'GetEntity', shard: '10.0.0.0:50051', code: 'OK', seconds: 0.001 });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^flux_grpc_client_duration_seconds_count\{method="GetEntity",shard="10.0.0.0:50051",code="OK"\} 2$/m);
    expect(text).toMatch(
      new RegExp(`^flux_grpc_client_duration_seconds_count\\{method="GetEntity",shard="10.0.0.${MAX_SHARD_LABELS - 1}:50051",code="OK"\\} 1$`, 'm'),
    );
    expect(text).toMatch(/^flux_grpc_client_duration_seconds_count\{method="GetEntity",shard="other",code="OK"\} 1$/m);
  });
});

describe('what operators read', () => {
  const registered = new Set(names(everyMetric()));
  /** A histogram's series name its metric with a suffix. */
  const metricOf = (series: string): string => series.replace(/_(bucket|sum|count)$/, '');

  it('the Grafana dashboard queries only metrics Flux exposes', () => {
    const dashboard = readFileSync(resolve(ROOT, 'deploy/grafana/flux-dashboard.json'), 'utf8');
    const expressions = [...dashboard.matchAll(/"expr":\s*"((?:[^"\\]|\\.)*)"/g)].map((match) => JSON.parse(`"${match[1]}"`) as string);
    expect(expressions.length).toBeGreaterThan(5);
    const queried = new Set(expressions.flatMap((expression) => [...expression.matchAll(/\bflux_[a-z0-9_]+/g)].map((match) => metricOf(match[0]))));
    expect([...queried].filter((name) => !registered.has(name))).toEqual([]);
  });

  it('docs/operations.md lists every Flux metric beyond prom-client’s defaults, and names no other', () => {
    const doc = readFileSync(resolve(ROOT, 'docs/operations.md'), 'utf8');
    // A name ending in `_` is a family (`flux_process_*`), not a metric.
    const named = new Set([...doc.matchAll(/`(flux_[a-z0-9_]*[a-z0-9])\b/g)].map((match) => metricOf(match[1]!)));
    const own = [...registered].filter((name) => !/^flux_(process|nodejs)_/.test(name));
    expect(own.filter((name) => !named.has(name))).toEqual([]);
    expect([...named].filter((name) => !registered.has(name))).toEqual([]);
  });
});
