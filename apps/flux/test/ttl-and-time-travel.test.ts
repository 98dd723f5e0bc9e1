/**
 * Entity ttl (`ttl_seconds`: deleted by a tombstone in the log once not updated for that long)
 * and point-in-time reads (`GET /api/state/entities/:id?at=`), on either deployment.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentKindName, startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import {
  clientOf,
  encodeId,
  envelope,
  get,
  getEntity,
  post,
  request,
  unique,
  waitFor,
  waitForEntity,
  waitForGone,
  type Json,
} from './support/client.js';
import { expectError, expectStatus } from './support/expect.js';
import type { ApiResponse } from './support/client.js';
import { reducerMetricsUrls, scrape, total } from './support/metrics.js';
import { WsClient, isEntityDeleted } from './support/ws-client.js';

let flux: Deployment;
let stateDir: string;

beforeAll(async () => {
  // The cluster launcher names its processes' pids here, so a test can kill a reducer shard.
  stateDir = await mkdtemp(join(tmpdir(), 'flux-ttl-'));
  flux = await startDeployment({
    env: {
      FLUX_TTL_SWEEP_INTERVAL_MS: '100',
      FLUX_CLUSTER_STATE_FILE: join(stateDir, 'cluster-state.json'),
      FLUX_CLUSTER_RESTART_DELAY_MS: '200',
    },
  });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await flux?.dispose();
  await rm(stateDir, { recursive: true, force: true });
});

/** Publishes and waits until the event is applied; the answer carries the entity's version. */
async function publishApplied(id: string, properties: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<Json> {
  const response = await post(flux, '/api/events?wait=applied', { ...envelope(id, properties), ...extra });
  expectStatus(response, 200);
  return response.body;
}

const entity = async (id: string): Promise<Json> => {
  const response = await getEntity(flux, id);
  expectStatus(response, 200);
  return response.body;
};

/** An error answer of the contract's shape with this status and stable code. */
function expectCode(response: ApiResponse, status: number, code: string): void {
  expectError(response, status);
  expect(response.body.code).toBe(code);
}

const history = async (id: string): Promise<Json[]> => (await get(flux, `/api/events?entity=${encodeId(id)}&limit=500`)).body as Json[];

/** Resolves once the clock reads at least `epochMs` (polled: the condition is the time itself). */
const clockPast = (epochMs: number): Promise<true> =>
  waitFor(() => Date.now() >= epochMs, {
    timeoutMs: Math.max(0, epochMs - Date.now()) + 5_000,
    intervalMs: 20,
    what: `the clock to pass ${new Date(epochMs).toISOString()}`,
  });

describe('ttl_seconds', () => {
  it('deletes an entity not updated for ttl_seconds: a tombstone in history and entity_deleted on the WebSocket', async () => {
    const id = `${unique('ttl')}/agent`;
    const ws = await WsClient.connect(flux.wsUrl);
    try {
      ws.subscribe(id);
      await publishApplied(id, { status: 'online' }, { ttl_seconds: 1 });
      const created = await entity(id);
      expect(created).toMatchObject({ ttlSeconds: 1, expiresAt: new Date(Date.parse(created.lastUpdated) + 1000).toISOString() });
      await waitForGone(flux, id, { timeoutMs: 15_000 });
      await ws.waitFor(isEntityDeleted(id), { what: `entity_deleted for ${id}` });
    } finally {
      await ws.close();
    }
    const [tombstone, ...rest] = await history(id);
    expect(tombstone).toMatchObject({ source: 'flux-ttl', if_version: 1, payload: { entity_id: id, properties: { __deleted__: true } } });
    expect(tombstone).not.toHaveProperty('rejected');
    expect(rest).toHaveLength(1);
    // The writer that swept it counts it (the embedded server, or a shard's metrics port).
    const scrapes = await Promise.all(reducerMetricsUrls(flux).map(([, url]) => scrape(url)));
    expect(total(scrapes.flat(), 'flux_ttl_tombstones_total')).toBeGreaterThan(0);
  });

  it('is restarted by every update: the entity outlives its first expiry, then goes', async () => {
    const id = `${unique('ttl-beat')}/agent`;
    await publishApplied(id, { beat: 1 }, { ttl_seconds: 3 });
    const first = Date.parse((await entity(id)).expiresAt);
    await clockPast(first - 1500);
    // A heartbeat without ttl_seconds keeps the ttl and restarts it.
    await publishApplied(id, { beat: 2 });
    const beaten = await entity(id);
    expect(beaten.ttlSeconds).toBe(3);
    expect(Date.parse(beaten.expiresAt)).toBe(Date.parse(beaten.lastUpdated) + 3000);
    expect(Date.parse(beaten.expiresAt)).toBeGreaterThan(first + 1000);
    await clockPast(first + 500);
    expect((await entity(id)).properties).toEqual({ beat: 2 });
    await waitForGone(flux, id, { timeoutMs: 15_000 });
  });

  it('is cleared by ttl_seconds: null, and entities never given one show no expiry', async () => {
    const id = unique('ttl-clear');
    await publishApplied(id, { a: 1 }, { ttl_seconds: 1 });
    await publishApplied(id, { a: 2 }, { ttl_seconds: null });
    const cleared = await entity(id);
    expect(cleared).not.toHaveProperty('expiresAt');
    expect(cleared).not.toHaveProperty('ttlSeconds');
    await clockPast(Date.parse(cleared.lastUpdated) + 1500);
    expect((await entity(id)).version).toBe(2);
  });

  it.each([0, -5, 1.5, 31_536_001, '10', true])('refuses ttl_seconds %j with a 400 naming the field', async (value) => {
    const response = await post(flux, '/api/events', { ...envelope(unique('ttl-bad'), { a: 1 }), ttl_seconds: value });
    expectCode(response, 400, 'FLUX_VALIDATION');
    expect(response.body.error).toContain('ttl_seconds');
  });

  it('the client sends ttlSeconds and reads the expiry', async () => {
    const client = clientOf(flux);
    const id = unique('ttl-client');
    await client.publish({ entityId: id, properties: { up: true }, ttlSeconds: 60 });
    const seen = await waitForEntity(flux, id);
    expect(seen.ttlSeconds).toBe(60);
    expect((await client.get(id))?.expiresAt).toBe(seen.expiresAt);
  });

  it('still expires after what applies its partition is killed and restarted', async () => {
    const id = `${unique('ttl-crash')}/agent`;
    const published = await publishApplied(id, { status: 'online' }, { ttl_seconds: 2 });
    const expiresAt = Date.parse((await entity(id)).expiresAt);
    // The premise: the expiry is still ahead when the writer dies, so only its successor can delete it.
    expect(Date.now()).toBeLessThan(expiresAt);
    await killApplier(published.partition as number);
    await waitForGone(flux, id, { timeoutMs: 60_000 });
    expect((await history(id))[0]).toMatchObject({ source: 'flux-ttl', payload: { properties: { __deleted__: true } } });
  }, 90_000);
});

describe('GET /api/state/entities/:id?at=', () => {
  it('returns the entity as it was at that time, 404 before it existed and after it was deleted', async () => {
    const id = `${unique('at')}/thing`;
    await publishApplied(id, { colour: 'red', size: 1 });
    const v1 = await entity(id);
    await clockPast(Date.parse(v1.lastUpdated) + 5);
    await publishApplied(id, { colour: 'blue' });
    const v2 = await entity(id);
    await clockPast(Date.parse(v2.lastUpdated) + 5);
    expectStatus(await request(flux, 'DELETE', `/api/state/entities/${encodeId(id)}`), 200);
    await waitForGone(flux, id);

    const at = (time: string) => get(flux, `/api/state/entities/${encodeId(id)}?at=${encodeURIComponent(time)}`);
    const then = await at(v1.lastUpdated);
    expectStatus(then, 200);
    expect(then.body).toEqual({ ...v1 });
    expect((await at(v2.lastUpdated)).body).toEqual(v2);
    expectCode(await at(new Date(Date.parse(v1.lastUpdated) - 1).toISOString()), 404, 'FLUX_NOT_FOUND');
    expectCode(await at(new Date().toISOString()), 404, 'FLUX_NOT_FOUND');
    expect((await clientOf(flux).get(id, { at: new Date(Date.parse(v2.lastUpdated)) }))?.properties).toEqual({ colour: 'blue', size: 1 });
  });

  it('answers 410 FLUX_OUTSIDE_HISTORY before the retained history (the newest 500 events)', async () => {
    const id = unique('at-window');
    await publishApplied(id, { n: 0 });
    const first = await entity(id);
    await clockPast(Date.parse(first.lastUpdated) + 5);
    const events = Array.from({ length: 500 }, (_, n) => envelope(id, { n: n + 1 }));
    expectStatus(await post(flux, '/api/events/batch?wait=applied', { events }, { timeoutMs: 30_000 }), 200);
    await waitForEntity(flux, id, (seen) => seen.version === 501);
    const response = await get(flux, `/api/state/entities/${encodeId(id)}?at=${encodeURIComponent(first.lastUpdated)}`);
    expectCode(response, 410, 'FLUX_OUTSIDE_HISTORY');
    expect((await get(flux, `/api/state/entities/${encodeId(id)}?at=${encodeURIComponent(new Date().toISOString())}`)).body.version).toBe(501);
  });

  it.each(['yesterday', '2026-13-01T00:00:00Z', '1700000000000'])('refuses at=%s with a 400 naming the parameter', async (value) => {
    const response = await get(flux, `/api/state/entities/${encodeId(unique('at-bad'))}?at=${encodeURIComponent(value)}`);
    expectCode(response, 400, 'FLUX_VALIDATION');
    expect(response.body.error).toContain('at');
  });
});

describe('the OpenAPI document', () => {
  it('documents ttl_seconds on events, the expiry on entities, and at with its 410', async () => {
    const doc = (await get(flux, '/api/openapi.json')).body as Json;
    const publish = doc.paths['/api/events'].post;
    expect(publish.requestBody.content['application/json'].schema.properties).toHaveProperty('ttl_seconds');
    const read = doc.paths['/api/state/entities/{id}'].get;
    expect(read.parameters.map((parameter: Json) => parameter.name)).toContain('at');
    expect(read.responses).toHaveProperty('410');
    expect(read.responses['200'].content['application/json'].schema.properties).toHaveProperty('expiresAt');
  });
});

/** Kills what applies `partition`: the embedded server (then restarted), or the cluster's reducer shard. */
async function killApplier(partition: number): Promise<void> {
  if (deploymentKindName() === 'embedded') {
    await flux.restart({ signal: 'SIGKILL' });
    return;
  }
  const state = JSON.parse(await readFile(join(stateDir, 'cluster-state.json'), 'utf8')) as { processes: Record<string, number> };
  const shards = Object.keys(state.processes).filter((name) => name.startsWith('reducer-')).length;
  const name = `reducer-${partition % shards}`;
  const pid = state.processes[name]!;
  process.kill(pid, 'SIGKILL');
}
