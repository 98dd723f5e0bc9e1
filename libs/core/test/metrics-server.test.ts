import { afterEach, describe, expect, it } from 'vitest';
import { FluxMetrics, startMetricsServer, type MetricsServer, type Readiness } from '../src/index.js';

let server: MetricsServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(readiness: () => Readiness): Promise<string> {
  const metrics = new FluxMetrics();
  metrics.reducerObserver({ partitionsOwned: 3, lag: async () => [{ partition: 4, records: 7 }] });
  server = await startMetricsServer({ registry: metrics.registry, readiness, host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${server.port}`;
}

describe('startMetricsServer', () => {
  it('serves /metrics as Prometheus text with the registry read at the scrape', async () => {
    const base = await start(() => ({ ready: true }));
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/^flux_reducer_partitions_owned 3$/m);
    expect(text).toMatch(/^flux_reducer_lag_events\{partition="4"\} 7$/m);
  });

  it('answers /health always and /ready as the process says, in the gateways’ shapes', async () => {
    let state: Readiness = { ready: false, reason: 'catching up' };
    const base = await start(() => state);
    const health = await fetch(`${base}/health`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
    const notReady = await fetch(`${base}/ready`);
    expect([notReady.status, await notReady.json()]).toEqual([503, { error: 'not ready: catching up', code: 'FLUX_UNAVAILABLE' }]);
    state = { ready: true };
    const ready = await fetch(`${base}/ready`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);
  });

  it('refuses other paths (404) and methods (405 with Allow)', async () => {
    const base = await start(() => ({ ready: true }));
    const missing = await fetch(`${base}/api/state`);
    expect([missing.status, (await missing.json()) as unknown]).toEqual([404, { error: 'no route /api/state', code: 'FLUX_NOT_FOUND' }]);
    const posted = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    expect(posted.status).toBe(405);
    expect(posted.headers.get('allow')).toBe('GET, HEAD');
    expect(await posted.json()).toMatchObject({ code: 'FLUX_METHOD_NOT_ALLOWED' });
  });

  it('closes with a keep-alive connection still open', async () => {
    const base = await start(() => ({ ready: true }));
    await (await fetch(`${base}/health`, { keepalive: true })).arrayBuffer();
    await server!.close();
    server = undefined;
    await expect(fetch(`${base}/health`)).rejects.toThrow();
  });
});
