/** Contract sections 2 (state model) and 3 (queries). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import {
  ISO_UTC,
  batchOk,
  envelope,
  get,
  getEntity,
  listEntities,
  publishOk,
  unique,
  waitFor,
  waitForEntity,
  waitForGone,
  type Json,
} from './support/client.js';
import { expectError, expectStatus } from './support/expect.js';

let flux: Deployment;

beforeAll(async () => {
  flux = await startDeployment();
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await flux?.dispose();
});

describe('state model (2)', () => {
  it('the first event creates the entity {id, properties, lastUpdated, version: 1}', async () => {
    const id = `${unique('st-create')}/room-101`;
    await publishOk(flux, id, { temperature: 22.5, unit: 'celsius' });
    const entity = await waitForEntity(flux, id);
    // `position`: the log position of the event that last changed it (see read-your-writes.test.ts).
    expect(Object.keys(entity).sort()).toEqual(['id', 'lastUpdated', 'position', 'properties', 'version']);
    expect(entity.id).toBe(id);
    expect(entity.properties).toEqual({ temperature: 22.5, unit: 'celsius' });
    expect(entity.version).toBe(1);
    expect(entity.lastUpdated).toMatch(ISO_UTC);
    expect(Math.abs(Date.parse(entity.lastUpdated) - Date.now())).toBeLessThan(60_000);
  });

  it('merges top-level properties; nested objects and arrays are replaced whole', async () => {
    const id = unique('st-merge');
    await publishOk(flux, id, { a: 1, b: 'keep', nested: { x: 1, y: 2 }, list: [1, 2, 3] });
    await waitForEntity(flux, id, (entity) => entity.version === 1);
    await publishOk(flux, id, { a: 2, nested: { z: 3 }, list: [9] });
    const entity = await waitForEntity(flux, id, (value) => value.version === 2);
    expect(entity.properties).toEqual({ a: 2, b: 'keep', nested: { z: 3 }, list: [9] });
  });

  it('stores every JSON value type as given', async () => {
    const id = unique('st-types');
    const properties = {
      s: 'text',
      i: 42,
      f: -1.5,
      t: true,
      f2: false,
      zero: 0,
      empty: '',
      arr: [null, 1, 'x', { k: [] }],
      obj: { deep: { deeper: [1] } },
      big: 9007199254740991,
    };
    await publishOk(flux, id, properties);
    const entity = await waitForEntity(flux, id);
    expect(entity.properties).toEqual(properties);
  });

  it('a null value removes the property', async () => {
    const id = unique('st-null');
    await publishOk(flux, id, { a: 1, b: 2, c: 3 });
    await waitForEntity(flux, id, (entity) => entity.version === 1);
    await publishOk(flux, id, { b: null, d: 4 });
    const entity = await waitForEntity(flux, id, (value) => value.version === 2);
    expect(entity.properties).toEqual({ a: 1, c: 3, d: 4 });
    expect(Object.hasOwn(entity.properties, 'b')).toBe(false);
  });

  it('removing a property that does not exist is harmless and still counts as an applied event', async () => {
    const id = unique('st-null-missing');
    await publishOk(flux, id, { a: 1 });
    await waitForEntity(flux, id, (entity) => entity.version === 1);
    await publishOk(flux, id, { nothing: null });
    const entity = await waitForEntity(flux, id, (value) => value.version === 2);
    expect(entity.properties).toEqual({ a: 1 });
  });

  it('version counts applied events, even when nothing changed', async () => {
    const id = unique('st-version');
    for (let index = 0; index < 5; index += 1) await publishOk(flux, id, { same: 'value' });
    const entity = await waitForEntity(flux, id, (value) => value.version >= 5);
    expect(entity.version).toBe(5);
    expect(entity.properties).toEqual({ same: 'value' });
  });

  it('lastUpdated moves forward with new events', async () => {
    const id = unique('st-last');
    await publishOk(flux, id, { n: 1 });
    const first = await waitForEntity(flux, id);
    await waitFor(() => Date.now() > Date.parse(first.lastUpdated) + 5, { what: 'the clock to move on' });
    await publishOk(flux, id, { n: 2 });
    const second = await waitForEntity(flux, id, (value) => value.version === 2);
    expect(second.lastUpdated).toMatch(ISO_UTC);
    expect(Date.parse(second.lastUpdated)).toBeGreaterThan(Date.parse(first.lastUpdated));
  });

  it('{"__deleted__": true} deletes the entity; the next event creates a fresh one (version 1, no old properties)', async () => {
    const id = `${unique('st-tomb')}/x`;
    await publishOk(flux, id, { old: 'value', keep: 1 });
    await publishOk(flux, id, { more: 2 });
    await waitForEntity(flux, id, (entity) => entity.version === 2);
    await publishOk(flux, id, { __deleted__: true });
    await waitForGone(flux, id);
    const gone = await getEntity(flux, id);
    expect(expectError(gone, 404)).toBe('Entity not found');
    await publishOk(flux, id, { fresh: true });
    const entity = await waitForEntity(flux, id);
    expect(entity.properties).toEqual({ fresh: true });
    expect(entity.version).toBe(1);
  });

  it('applies the events of one entity in arrival order, exactly once', async () => {
    const id = unique('st-order');
    const count = 60;
    for (let index = 1; index <= count; index += 1) await publishOk(flux, id, { seq: index, [`k${index % 4}`]: index });
    const entity = await waitForEntity(flux, id, (value) => value.version >= count, { timeoutMs: 15_000 });
    expect(entity.version).toBe(count);
    expect(entity.properties).toEqual({ seq: 60, k0: 60, k1: 57, k2: 58, k3: 59 });
  });

  it('keeps entities independent while many are written concurrently', async () => {
    const prefix = unique('st-conc');
    const ids = Array.from({ length: 12 }, (_, index) => `${prefix}/e${index}`);
    await Promise.all(
      ids.map(async (id) => {
        for (let step = 1; step <= 5; step += 1) await publishOk(flux, id, { step, id });
      }),
    );
    for (const id of ids) {
      const entity = await waitForEntity(flux, id, (value) => value.version >= 5);
      expect(entity).toMatchObject({ version: 5, properties: { step: 5, id } });
    }
  });
});

describe('queries (3)', () => {
  it('GET /api/state/entities returns a JSON array of entities', async () => {
    const id = unique('q-all');
    await publishOk(flux, id, { here: true });
    await waitForEntity(flux, id);
    const all = await listEntities(flux);
    const mine = all.find((entity) => entity.id === id);
    expect(mine).toMatchObject({ id, properties: { here: true }, version: 1, lastUpdated: expect.stringMatching(ISO_UTC) });
  });

  it('filters by prefix', async () => {
    const prefix = unique('q-prefix');
    await batchOk(flux, [
      envelope(`${prefix}-a`, { n: 1 }),
      envelope(`${prefix}-b/c`, { n: 2 }),
      envelope(`x${prefix}`, { n: 3 }),
      envelope(`${prefix.toUpperCase()}-d`, { n: 4 }),
    ]);
    await waitForEntity(flux, `${prefix.toUpperCase()}-d`);
    await waitForEntity(flux, `x${prefix}`);
    await waitForEntity(flux, `${prefix}-a`);
    await waitForEntity(flux, `${prefix}-b/c`);
    const listed = await listEntities(flux, { prefix });
    expect(listed.map((entity) => entity.id).sort()).toEqual([`${prefix}-a`, `${prefix}-b/c`]);
  });

  it('filters by namespace: the part before the first "/"; ids without "/" never match', async () => {
    const ns = unique('q-ns');
    await batchOk(flux, [
      envelope(`${ns}/one`, { n: 1 }),
      envelope(`${ns}/two/deeper`, { n: 2 }),
      envelope(ns, { n: 3 }),
      envelope(`${ns}x/other`, { n: 4 }),
      envelope(`${ns}-sub/other`, { n: 5 }),
      envelope(`other/${ns}/y`, { n: 6 }),
    ]);
    for (const id of [`${ns}/one`, `${ns}/two/deeper`, ns, `${ns}x/other`, `${ns}-sub/other`, `other/${ns}/y`]) await waitForEntity(flux, id);
    const listed = await listEntities(flux, { namespace: ns });
    expect(listed.map((entity) => entity.id).sort()).toEqual([`${ns}/one`, `${ns}/two/deeper`]);
  });

  it('combines prefix and namespace with AND', async () => {
    const ns = unique('q-and');
    await batchOk(flux, [
      envelope(`${ns}/alpha-1`, { n: 1 }),
      envelope(`${ns}/alpha-2`, { n: 2 }),
      envelope(`${ns}/beta-1`, { n: 3 }),
      envelope(`${ns}x/alpha-9`, { n: 4 }),
    ]);
    await waitForEntity(flux, `${ns}/beta-1`);
    await waitForEntity(flux, `${ns}x/alpha-9`);
    await waitForEntity(flux, `${ns}/alpha-1`);
    await waitForEntity(flux, `${ns}/alpha-2`);
    const both = await listEntities(flux, { namespace: ns, prefix: `${ns}/alpha` });
    expect(both.map((entity) => entity.id).sort()).toEqual([`${ns}/alpha-1`, `${ns}/alpha-2`]);
    const disjoint = await listEntities(flux, { namespace: ns, prefix: `${ns}x/` });
    expect(disjoint).toEqual([]);
  });

  it('an unknown prefix or namespace gives an empty array', async () => {
    expect(await listEntities(flux, { prefix: unique('q-none') })).toEqual([]);
    expect(await listEntities(flux, { namespace: unique('q-none') })).toEqual([]);
  });

  it('pages with limit and an opaque cursor: Flux-Next-Cursor while more remain, no duplicates, nothing missing', async () => {
    const prefix = unique('q-page');
    const ids = Array.from({ length: 25 }, (_, index) => `${prefix}/item-${String(index).padStart(2, '0')}`);
    await batchOk(
      flux,
      ids.map((id, index) => envelope(id, { index })),
    );
    for (const id of ids) await waitForEntity(flux, id);

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query = new URLSearchParams({ prefix, limit: '10', ...(cursor === null ? {} : { cursor }) });
      const response = await get(flux, `/api/state/entities?${query.toString()}`);
      expectStatus(response, 200, `page ${pages + 1}`);
      expect(Array.isArray(response.body)).toBe(true);
      const page = response.body as Json[];
      pageSizes.push(page.length);
      seen.push(...page.map((entity) => entity.id as string));
      cursor = response.headers.get('flux-next-cursor');
      pages += 1;
      if (cursor !== null) expect(cursor.length).toBeGreaterThan(0);
    } while (cursor !== null && pages < 10);

    expect(pageSizes).toEqual([10, 10, 5]);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(ids);
  });

  it('a page that ends exactly at the last entity carries no Flux-Next-Cursor, or the next page is empty', async () => {
    const prefix = unique('q-exact');
    const ids = Array.from({ length: 10 }, (_, index) => `${prefix}/e${index}`);
    await batchOk(
      flux,
      ids.map((id) => envelope(id, { x: 1 })),
    );
    for (const id of ids) await waitForEntity(flux, id);
    const first = await get(flux, `/api/state/entities?prefix=${encodeURIComponent(prefix)}&limit=5`);
    expectStatus(first, 200);
    expect(first.body).toHaveLength(5);
    const cursor = first.headers.get('flux-next-cursor');
    expect(cursor, 'more remain after the first page').not.toBeNull();
    const second = await get(flux, `/api/state/entities?prefix=${encodeURIComponent(prefix)}&limit=5&cursor=${encodeURIComponent(cursor ?? '')}`);
    expectStatus(second, 200);
    expect(second.body).toHaveLength(5);
    const after = second.headers.get('flux-next-cursor');
    if (after !== null) {
      const third = await get(flux, `/api/state/entities?prefix=${encodeURIComponent(prefix)}&limit=5&cursor=${encodeURIComponent(after)}`);
      expectStatus(third, 200);
      expect(third.body).toEqual([]);
      expect(third.headers.get('flux-next-cursor')).toBeNull();
    }
    expect([...(first.body as Json[]), ...(second.body as Json[])].map((entity) => entity.id).sort()).toEqual(ids.sort());
  });

  it('without paging parameters the list carries no Flux-Next-Cursor', async () => {
    const response = await get(flux, '/api/state/entities');
    expectStatus(response, 200);
    expect(response.headers.get('flux-next-cursor')).toBeNull();
  });

  it.each([['0'], ['-1'], ['abc'], ['1.5']])('rejects limit=%s with 400 (as history does; a careful user expects it)', async (limit) => {
    expectError(await get(flux, `/api/state/entities?limit=${limit}`), 400);
  });

  it('GET /api/state/entities/:id with a percent-encoded "/" (and several of them)', async () => {
    const ns = unique('q-slash');
    const ids = [`${ns}/sensor-01`, `${ns}/a/b/c`, `${ns}/with space`, `${ns}/q?x=1#frag`, `${ns}/pct%41`, `${ns}/plus+sign`];
    await batchOk(
      flux,
      ids.map((id) => envelope(id, { id })),
    );
    for (const id of ids) {
      const entity = await waitForEntity(flux, id);
      expect(entity.id).toBe(id);
      expect(entity.properties.id).toBe(id);
    }
  });

  it('answers 404 {"error": "Entity not found"} for an unknown id', async () => {
    const response = await get(flux, `/api/state/entities/${encodeURIComponent(`${unique('q-missing')}/nothing`)}`);
    expect(expectError(response, 404)).toBe('Entity not found');
    expect(response.body).toEqual({ error: 'Entity not found', code: 'FLUX_NOT_FOUND' });
  });
});
