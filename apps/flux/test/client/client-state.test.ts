/** @flux/client against a real embedded Flux in internal mode: events, state, deletion, history, system. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from '../support/deployment.js';
import { ISO_UTC, UUID_V7, unique, waitFor } from '../support/client.js';
import { POSITION_FIELDS } from '../support/expect.js';
import { FluxClient, FluxHttpError, type Entity } from '@flux/client';

let deployment: Deployment;
let flux: FluxClient;

beforeAll(async () => {
  deployment = await startDeployment();
  flux = new FluxClient({ url: deployment.baseUrl, stream: 'client.tests', source: 'client-suite' });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await deployment?.dispose();
});

/** State follows the log asynchronously: wait until the entity satisfies `predicate`. */
const entityWhen = (id: string, predicate: (entity: Entity) => boolean = () => true): Promise<Entity> =>
  waitFor(
    async () => {
      const entity = await flux.get(id);
      return entity !== undefined && predicate(entity) ? entity : undefined;
    },
    { what: `entity ${id}` },
  );

/** A client that records the URL of every request it sends. */
function countingClient(): { client: FluxClient; requested: string[] } {
  const requested: string[] = [];
  const client = new FluxClient({
    url: deployment.baseUrl,
    fetch: (input, init) => {
      requested.push(input);
      return fetch(input, init);
    },
  });
  return { client, requested };
}

describe('publish and get', () => {
  it('wait applied, conditional writes and min_position: read your own write, one winner of a claim', async () => {
    const id = unique('claim');
    const created = await flux.publish({ entityId: id, properties: { owner: 'a' }, ifAbsent: true }, { wait: 'applied' });
    expect(created.version).toBe(1);
    // The entity exists now: a second if_absent loses, and says which version won.
    const lost = await flux.publish({ entityId: id, properties: { owner: 'b' }, ifAbsent: true }).catch((error: unknown) => error);
    expect(lost).toBeInstanceOf(FluxHttpError);
    expect(lost).toMatchObject({ status: 409, code: 'version_conflict', body: { current_version: 1 } });
    const moved = await flux.publish({ entityId: id, properties: { owner: 'c' }, ifVersion: 1 });
    // Read your write: no polling, the read waits for the write's position.
    const entity = await flux.get(id, { minPosition: moved.position!, timeoutMs: 10_000 });
    expect(entity).toMatchObject({ properties: { owner: 'c' }, version: 2 });
    const batch = await flux.batch(
      [
        { entityId: id, properties: { owner: 'd' }, ifVersion: 2 },
        { entityId: id, properties: { owner: 'e' }, ifVersion: 2 },
      ],
      { wait: 'applied' },
    );
    expect(batch.results.map((result) => [result.ok, result.code, result.version ?? result.current_version])).toEqual([
      [true, undefined, 3],
      [false, 'version_conflict', 3],
    ]);
  });

  it('publish fills stream, source and timestamp, and the entity appears with its version', async () => {
    const id = `${unique('pub')}/sensor-01`;
    const result = await flux.publish({ entityId: id, properties: { temperature: 22.5, unit: 'C' } });
    expect(result.eventId).toMatch(UUID_V7);
    expect(result.stream).toBe('client.tests');
    const entity = await entityWhen(id);
    expect(entity).toMatchObject({ id, properties: { temperature: 22.5, unit: 'C' }, version: 1 });
    expect(entity.lastUpdated).toMatch(ISO_UTC);
    const [stored] = await flux.history(id);
    expect(stored).toMatchObject({ stream: 'client.tests', source: 'client-suite', payload: { entity_id: id } });
  });

  it('merges properties and removes those published as null', async () => {
    const id = unique('merge');
    await flux.publish({ entityId: id, properties: { keep: 1, drop: 2 } });
    await flux.publish({ entityId: id, properties: { drop: null, added: 'x' }, timestamp: new Date() });
    const entity = await entityWhen(id, (current) => current.version === 2);
    expect(entity.properties).toEqual({ keep: 1, added: 'x' });
  });

  it('publishEvent sends a raw envelope with eventId, key and schema echoed in history', async () => {
    const id = unique('raw');
    const eventId = '018f6b1e-0000-7000-8000-000000000001';
    const result = await flux.publishEvent({
      stream: 'raw.stream',
      source: 'raw-source',
      timestamp: 1_700_000_000_000,
      payload: { entity_id: id, properties: { a: 1 } },
      eventId,
      key: 'k1',
      schema: 's1',
    });
    expect(result).toEqual({ eventId, stream: 'raw.stream', ...POSITION_FIELDS });
    const history = await waitFor(async () => {
      const events = await flux.history(id);
      return events.length > 0 ? events : undefined;
    });
    expect(history[0]).toMatchObject({ eventId, key: 'k1', schema: 's1', timestamp: 1_700_000_000_000 });
  });

  it('get resolves undefined for an unknown id and encodes ids with slashes', async () => {
    expect(await flux.get(`${unique('none')}/a/b`)).toBeUndefined();
    const id = `${unique('slash')}/a/b c`;
    await flux.publish({ entityId: id, properties: { ok: true } });
    expect((await entityWhen(id)).id).toBe(id);
  });

  it('an invalid event is a FluxHttpError with status 400 and the server code', async () => {
    const error = await flux.publish({ entityId: unique('bad'), properties: {}, stream: 'Not Valid!' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FluxHttpError);
    expect(error).toMatchObject({ status: 400, code: 'FLUX_VALIDATION', method: 'POST', path: '/api/events', retryable: false });
    expect((error as FluxHttpError).message).toMatch(/stream/);
    expect((error as FluxHttpError).body).toMatchObject({ code: 'FLUX_VALIDATION' });
  });
});

describe('batch', () => {
  it('publishes mixed inputs in one request, one result per input in order', async () => {
    const prefix = unique('batch');
    const result = await flux.batch([
      { entityId: `${prefix}/a`, properties: { n: 1 } },
      { stream: 'batch.raw', source: 'raw', payload: { entity_id: `${prefix}/b`, properties: { n: 2 } } },
      { entityId: `${prefix}/c`, properties: { n: 3 }, stream: 'INVALID' },
      { entityId: `${prefix}/a`, properties: { n: 4 } },
    ]);
    expect(result).toMatchObject({ accepted: 3, refused: 1, requests: 1 });
    expect(result.results.map((item) => [item.index, item.ok])).toEqual([
      [0, true],
      [1, true],
      [2, false],
      [3, true],
    ]);
    expect(result.results[1]).toMatchObject({ stream: 'batch.raw' });
    expect(result.results[2]?.error).toMatch(/stream/);
    expect((await entityWhen(`${prefix}/a`, (entity) => entity.version === 2)).properties).toEqual({ n: 4 });
  });

  it('splits a batch into requests under maxBatchBytes, keeping the order of application', async () => {
    const prefix = unique('chunk');
    const events = Array.from({ length: 40 }, (_, n) => ({ entityId: `${prefix}/same`, properties: { n, pad: 'x'.repeat(200) } }));
    const result = await flux.batch(events, { maxBatchBytes: 2_000 });
    expect(result.accepted).toBe(40);
    expect(result.requests).toBeGreaterThan(5);
    const entity = await entityWhen(`${prefix}/same`, (current) => current.version === 40);
    expect(entity.properties.n).toBe(39);
  });

  it('fails an event larger than the limit locally and publishes the rest', async () => {
    const prefix = unique('big');
    const result = await flux.batch(
      [
        { entityId: `${prefix}/small`, properties: { n: 1 } },
        { entityId: `${prefix}/huge`, properties: { blob: 'y'.repeat(5_000) } },
      ],
      { maxBatchBytes: 1_000 },
    );
    expect(result.results[0]).toMatchObject({ ok: true });
    expect(result.results[1]).toMatchObject({ ok: false, code: 'FLUX_PAYLOAD_TOO_LARGE' });
    expect(result.requests).toBe(1);
  });

  it('reads the batch limit from the server and splits again when the server answers 413', async () => {
    const admin = new FluxClient({ url: deployment.baseUrl });
    const original = await admin.admin.getConfig();
    try {
      await admin.admin.setConfig({ body_size_limit_batch_bytes: 65_536 });
      const client = new FluxClient({ url: deployment.baseUrl });
      expect(await client.maxBatchBytes()).toBe(65_536);
      const prefix = unique('limit');
      const events = Array.from({ length: 30 }, (_, n) => ({ entityId: `${prefix}/e${n}`, properties: { pad: 'z'.repeat(4_000) } }));
      const result = await client.batch(events);
      expect(result.accepted).toBe(30);
      expect(result.requests).toBeGreaterThan(1);
      // A client told a larger limit than the server's: 413, split, and still every event published.
      const optimistic = new FluxClient({ url: deployment.baseUrl, maxBatchBytes: 10 * 1024 * 1024 });
      const retried = await optimistic.batch(events.map((event) => ({ ...event, entityId: `${event.entityId}-again` })));
      expect(retried.accepted).toBe(30);
      expect(retried.requests).toBeGreaterThan(2);
    } finally {
      await admin.admin.setConfig({ body_size_limit_batch_bytes: original.body_size_limit_batch_bytes });
    }
  });

  it('an empty batch sends nothing', async () => {
    expect(await flux.batch([])).toEqual({ results: [], accepted: 0, refused: 0, requests: 0 });
  });
});

describe('list', () => {
  it('iterates cursor pages with prefix, namespace, limit and since', async () => {
    const namespace = unique('list');
    const before = new Date(Date.now() - 1_000);
    const batch = await flux.batch(
      Array.from({ length: 25 }, (_, n) => ({ entityId: `${namespace}/e${String(n).padStart(2, '0')}`, properties: { n } })),
    );
    expect(batch.accepted).toBe(25);
    await waitFor(async () => (await flux.listAll({ prefix: `${namespace}/` })).length === 25, { what: '25 entities' });

    const { client: counting, requested } = countingClient();
    const ids: string[] = [];
    for await (const entity of counting.list({ namespace, pageSize: 10 })) ids.push(entity.id);
    expect(ids).toEqual([...ids].sort());
    expect(ids).toHaveLength(25);
    expect(requested).toHaveLength(3);
    expect(requested[1]).toMatch(/cursor=/);

    expect(await flux.listAll({ prefix: `${namespace}/e1`, pageSize: 3 })).toHaveLength(10);
    expect((await flux.listAll({ namespace, limit: 7, pageSize: 5 })).map((entity) => entity.properties.n)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(await flux.listAll({ namespace, since: before })).toHaveLength(25);
    expect(await flux.listAll({ namespace, since: new Date(Date.now() + 60_000) })).toHaveLength(0);
  });

  it('stops early when the consumer breaks out of the loop', async () => {
    const { client: counting, requested } = countingClient();
    const namespace = unique('early');
    await flux.batch(Array.from({ length: 6 }, (_, n) => ({ entityId: `${namespace}/e${n}`, properties: { n } })));
    await waitFor(async () => (await flux.listAll({ namespace })).length === 6);
    for await (const entity of counting.list({ namespace, pageSize: 2 })) {
      expect(entity.id.startsWith(`${namespace}/`)).toBe(true);
      break;
    }
    expect(requested).toHaveLength(1);
  });
});

describe('delete', () => {
  it('delete appends a tombstone, and is idempotent', async () => {
    const id = unique('del');
    await flux.publish({ entityId: id, properties: { a: 1 } });
    await entityWhen(id);
    const result = await flux.delete(id);
    expect(result).toMatchObject({ entity_id: id, eventId: expect.stringMatching(UUID_V7) });
    await waitFor(async () => (await flux.get(id)) === undefined, { what: `${id} gone` });
    expect((await flux.delete(id)).entity_id).toBe(id);
  });

  it('deleteMany by ids, prefix and namespace', async () => {
    const namespace = unique('many');
    await flux.batch(['a1', 'a2', 'b1', 'c1'].map((name) => ({ entityId: `${namespace}/${name}`, properties: { name } })));
    await waitFor(async () => (await flux.listAll({ namespace })).length === 4);
    expect(await flux.deleteMany({ ids: [`${namespace}/c1`] })).toMatchObject({ deleted: 1, failed: 0 });
    expect(await flux.deleteMany({ prefix: `${namespace}/a` })).toMatchObject({ deleted: 2 });
    await waitFor(async () => (await flux.listAll({ namespace })).length === 1, { what: 'one left' });
    expect(await flux.deleteMany({ namespace })).toMatchObject({ deleted: 1 });
    await waitFor(async () => (await flux.listAll({ namespace })).length === 0, { what: 'none left' });
  });

  it('deleteMany with an empty selector is a FluxHttpError 400', async () => {
    await expect(flux.deleteMany({ prefix: '' })).rejects.toMatchObject({ name: 'FluxHttpError', status: 400, code: 'FLUX_VALIDATION' });
  });
});

describe('history', () => {
  it('returns the newest events first, with limit and since', async () => {
    const id = unique('hist');
    for (const n of [1, 2, 3]) await flux.publish({ entityId: id, properties: { n } });
    const all = await waitFor(async () => {
      const events = await flux.history(id);
      return events.length === 3 ? events : undefined;
    });
    expect(all.map((event) => event.payload.properties.n)).toEqual([3, 2, 1]);
    expect((await flux.history(id, { limit: 1 })).map((event) => event.payload.properties.n)).toEqual([3]);
    expect(await flux.history(id, { since: new Date(Date.now() + 60_000) })).toEqual([]);
    expect(await flux.history(id, { since: new Date(Date.now() - 60_000).toISOString() })).toHaveLength(3);
  });

  it('an invalid since is a 400', async () => {
    await expect(flux.history(unique('h'), { since: 'yesterday' })).rejects.toMatchObject({ status: 400, code: 'FLUX_VALIDATION' });
  });
});

describe('system and admin', () => {
  it('health, ready and the runtime config', async () => {
    expect(await flux.health()).toEqual({ status: 'ok' });
    expect(await flux.ready()).toEqual({ ready: true });
    expect(await flux.metrics()).toMatch(/^# HELP /m);
    expect(await flux.openapi()).toMatchObject({
      openapi: expect.stringMatching(/^3\./),
      paths: expect.objectContaining({ '/api/events': expect.any(Object) }),
    });
    expect(await flux.admin.getConfig()).toMatchObject({
      rate_limit_enabled: expect.any(Boolean),
      body_size_limit_single_bytes: expect.any(Number),
      body_size_limit_batch_bytes: expect.any(Number),
    });
  });

  it('setConfig updates and answers the whole config; wrong types are a 400', async () => {
    const before = await flux.admin.getConfig();
    const updated = await flux.admin.setConfig({ rate_limit_per_namespace_per_minute: before.rate_limit_per_namespace_per_minute + 1 });
    expect(updated).toEqual({ ...before, rate_limit_per_namespace_per_minute: before.rate_limit_per_namespace_per_minute + 1 });
    await flux.admin.setConfig({ rate_limit_per_namespace_per_minute: before.rate_limit_per_namespace_per_minute });
    await expect(flux.admin.setConfig({ rate_limit_enabled: 'yes' as unknown as boolean })).rejects.toMatchObject({ status: 400 });
  });

  it('connectors list and detail in internal mode', async () => {
    const connectors = await flux.connectors.list();
    expect(connectors.map((connector) => connector.name)).toContain('github');
    expect(await flux.connectors.get('github')).toMatchObject({ name: 'github', poll_interval_seconds: expect.any(Number) });
    await expect(flux.connectors.get('no-such-connector')).rejects.toMatchObject({ status: 404, code: 'FLUX_NOT_FOUND' });
  });

  it('namespaces are absent in internal mode: get is undefined, create a 404', async () => {
    expect(await flux.namespaces.get('some-ns')).toBeUndefined();
    await expect(flux.namespaces.create('some-ns')).rejects.toMatchObject({ status: 404 });
  });
});
