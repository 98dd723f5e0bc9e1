/** Contract section 4: deletion (single and batch), in internal and public mode. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicEnv, startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import {
  batchOk,
  envelope,
  get,
  getEntity,
  listEntities,
  post,
  publishOk,
  registerNamespace,
  request,
  unique,
  waitFor,
  waitForEntity,
  waitForGone,
} from './support/client.js';
import { expectError, expectStatus, POSITION_FIELDS } from './support/expect.js';

const ADMIN = 'deletion-admin-token-0123456789';
let flux: Deployment;
let pub: Deployment;

beforeAll(async () => {
  [flux, pub] = await Promise.all([startDeployment(), startDeployment({ env: publicEnv(ADMIN) })]);
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([flux?.dispose(), pub?.dispose()]);
});

const del = (target: Deployment, id: string, options: { token?: string; headers?: Record<string, string> } = {}) =>
  request(target, 'DELETE', `/api/state/entities/${encodeURIComponent(id)}`, options);

describe('DELETE /api/state/entities/:id (internal mode)', () => {
  it('answers 200 {entity_id, eventId} and the entity disappears', async () => {
    const id = `${unique('del-one')}/sensor-01`;
    await publishOk(flux, id, { a: 1 });
    await waitForEntity(flux, id);
    const response = await del(flux, id);
    expectStatus(response, 200);
    expect(response.body).toEqual({ entity_id: id, eventId: expect.any(String), ...POSITION_FIELDS });
    expect(response.body.eventId.length).toBeGreaterThan(0);
    await waitForGone(flux, id);
    expect((await listEntities(flux, { prefix: id })).map((entity) => entity.id)).not.toContain(id);
  });

  it('accepts Content-Type: application/json with no body (the original client sends that)', async () => {
    const id = unique('del-ctype');
    await publishOk(flux, id, { a: 1 });
    await waitForEntity(flux, id);
    const response = await del(flux, id, { headers: { 'content-type': 'application/json' } });
    expectStatus(response, 200);
    expect(response.body.entity_id).toBe(id);
    await waitForGone(flux, id);
  });

  it('is idempotent: deleting an id that does not exist is not an error', async () => {
    const id = `${unique('del-missing')}/never`;
    const first = await del(flux, id);
    expectStatus(first, 200);
    expect(first.body.entity_id).toBe(id);
    expectStatus(await del(flux, id), 200);
    expect((await getEntity(flux, id)).status).toBe(404);
  });

  it('deletes ids with several "/" and special characters', async () => {
    const id = `${unique('del-deep')}/a/b c/d?e#f`;
    await publishOk(flux, id, { a: 1 });
    await waitForEntity(flux, id);
    expectStatus(await del(flux, id), 200);
    await waitForGone(flux, id);
  });

  it('appends a tombstone: history shows it and a later event creates a fresh entity', async () => {
    const id = unique('del-tomb');
    await publishOk(flux, id, { old: true });
    await waitForEntity(flux, id);
    const deleted = await del(flux, id);
    expectStatus(deleted, 200);
    await waitForGone(flux, id);
    const history = await get(flux, `/api/events?entity=${encodeURIComponent(id)}`);
    expectStatus(history, 200);
    expect(history.body).toHaveLength(2);
    expect(history.body[0].eventId).toBe(deleted.body.eventId);
    expect(history.body[0].payload.entity_id).toBe(id);
    await publishOk(flux, id, { fresh: true });
    const entity = await waitForEntity(flux, id);
    expect(entity).toMatchObject({ version: 1, properties: { fresh: true } });
  });
});

describe('POST /api/state/entities/delete (internal mode)', () => {
  const batchDelete = (target: Deployment, body: unknown, token?: string) =>
    request(target, 'POST', '/api/state/entities/delete', { json: body, ...(token === undefined ? {} : { token }) });

  async function seed(target: Deployment, ids: string[], token?: string): Promise<void> {
    await batchOk(
      target,
      ids.map((id) => envelope(id, { seeded: true })),
      token,
    );
    for (const id of ids) await waitForEntity(target, id);
  }

  it('deletes by namespace', async () => {
    const ns = unique('bd-ns');
    const ids = [`${ns}/a`, `${ns}/b`, `${ns}/c/d`];
    const survivors = [`${ns}x/a`, ns, `${ns}-2/a`];
    await seed(flux, [...ids, ...survivors]);
    const response = await batchDelete(flux, { namespace: ns });
    expectStatus(response, 200);
    expect(response.body).toEqual({ deleted: 3, failed: 0, errors: [], positions: expect.any(Array) });
    for (const id of ids) await waitForGone(flux, id);
    for (const id of survivors) expectStatus(await getEntity(flux, id), 200, `${id} must survive`);
  });

  it('deletes by prefix', async () => {
    const prefix = unique('bd-prefix');
    const ids = [`${prefix}-1`, `${prefix}-2`, `${prefix}/x`];
    const survivors = [`z${prefix}-1`];
    await seed(flux, [...ids, ...survivors]);
    const response = await batchDelete(flux, { prefix });
    expectStatus(response, 200);
    expect(response.body).toEqual({ deleted: 3, failed: 0, errors: [], positions: expect.any(Array) });
    for (const id of ids) await waitForGone(flux, id);
    expectStatus(await getEntity(flux, survivors[0] ?? ''), 200);
  });

  it('deletes by entity_ids', async () => {
    const prefix = unique('bd-ids');
    const ids = [`${prefix}/1`, `${prefix}/2`];
    await seed(flux, [...ids, `${prefix}/3`]);
    const response = await batchDelete(flux, { entity_ids: ids });
    expectStatus(response, 200);
    expect(response.body.deleted).toBe(2);
    expect(response.body.failed).toBe(0);
    expect(response.body.errors).toEqual([]);
    for (const id of ids) await waitForGone(flux, id);
    expectStatus(await getEntity(flux, `${prefix}/3`), 200);
  });

  it('a namespace or prefix matching nothing deletes nothing', async () => {
    const response = await batchDelete(flux, { prefix: unique('bd-nothing') });
    expectStatus(response, 200);
    expect(response.body).toEqual({ deleted: 0, failed: 0, errors: [], positions: [] });
  });

  it('deleted entities emit entity_deleted semantics: a later event recreates them fresh', async () => {
    const ns = unique('bd-fresh');
    await seed(flux, [`${ns}/a`]);
    expectStatus(await batchDelete(flux, { namespace: ns }), 200);
    await waitForGone(flux, `${ns}/a`);
    await publishOk(flux, `${ns}/a`, { again: true });
    expect(await waitForEntity(flux, `${ns}/a`)).toMatchObject({ version: 1, properties: { again: true } });
  });

  it.each([
    ['an empty object', {}],
    ['two filters', { namespace: 'abc', prefix: 'abc' }],
    ['all three filters', { namespace: 'abc', prefix: 'abc', entity_ids: ['abc/x'] }],
    ['an unknown key', { filter: 'abc' }],
    ['a filter plus an unknown key', { prefix: 'abc', extra: 1 }],
    ['namespace not a string', { namespace: 5 }],
    ['prefix not a string', { prefix: ['a'] }],
    ['entity_ids not an array', { entity_ids: 'abc/x' }],
    ['a JSON array', [{ prefix: 'a' }]],
    ['null', null],
  ])('rejects %s with 400', async (_label, body) => {
    expectError(await batchDelete(flux, body), 400);
  });

  it.each([
    ['prefix', 'p'.repeat(513), 'at most 512'],
    ['namespace', 'n'.repeat(513), 'at most 512'],
    ['prefix', 'bad\u0001prefix', 'control characters'],
    ['namespace', 'bad\u0007ns', 'control characters'],
  ])('rejects a %s that could never be part of an id (%#) with 400 naming the field', async (field, value, problem) => {
    const message = expectError(await batchDelete(flux, { [field]: value }), 400);
    expect(message).toContain(`${field} must`);
    expect(message).toContain(problem);
  });

  it('a prefix of the longest id length is taken (and deletes the entity that has that id)', async () => {
    const id = unique('bd-long').padEnd(512, 'x');
    await seed(flux, [id]);
    const response = await batchDelete(flux, { prefix: id });
    expectStatus(response, 200);
    expect(response.body.deleted).toBe(1);
    await waitForGone(flux, id);
  });

  it('rejects malformed JSON with 400', async () => {
    const response = await request(flux, 'POST', '/api/state/entities/delete', {
      raw: '{"prefix": ',
      headers: { 'content-type': 'application/json' },
    });
    expectError(response, 400);
  });

  it('a non-string in entity_ids is rejected (400) or reported as failed without deleting anything else', async () => {
    const id = `${unique('bd-nonstring')}/a`;
    await seed(flux, [id]);
    const response = await batchDelete(flux, { entity_ids: [id, 5] });
    if (response.status === 400) {
      expectError(response, 400);
      expectStatus(await getEntity(flux, id), 200, 'nothing deleted after a 400');
    } else {
      expectStatus(response, 200);
      expect(response.body.failed).toBe(1);
      expect(response.body.errors).toHaveLength(1);
    }
  });

  describe('with more than 10000 matching entities', () => {
    const prefix = unique('bd-max');
    const ids = Array.from({ length: 10_001 }, (_, index) => `${prefix}/${String(index).padStart(5, '0')}`);

    /** Counts the entities under the prefix by paging (independent of any unpaged list cap). */
    async function countByPaging(): Promise<number> {
      let total = 0;
      let cursor: string | null = null;
      for (let pages = 0; pages < 100; pages += 1) {
        const query = new URLSearchParams({ prefix: `${prefix}/`, limit: '1000', ...(cursor === null ? {} : { cursor }) });
        const response = await get(flux, `/api/state/entities?${query.toString()}`);
        expectStatus(response, 200, 'paged count');
        total += (response.body as unknown[]).length;
        cursor = response.headers.get('flux-next-cursor');
        if (cursor === null) return total;
      }
      throw new Error('more than 100 pages');
    }

    beforeAll(async () => {
      for (let start = 0; start < ids.length; start += 2_500) {
        const body = await batchOk(
          flux,
          ids.slice(start, start + 2_500).map((id) => envelope(id, { n: 1 })),
        );
        expect(body.failed).toBe(0);
      }
      await waitFor(async () => (await countByPaging()) === ids.length, { timeoutMs: 60_000, intervalMs: 250, what: 'all 10001 entities' });
    }, 120_000);

    it('an unpaged GET /api/state/entities returns all of them (section 3: no paging parameters, no truncation)', async () => {
      const response = await get(flux, `/api/state/entities?prefix=${encodeURIComponent(`${prefix}/`)}`);
      expectStatus(response, 200);
      expect((response.body as unknown[]).length, `unpaged list length (Flux-Next-Cursor: ${response.headers.get('flux-next-cursor')})`).toBe(10_001);
    });

    it('answers 400 and deletes nothing when more than max_batch_delete (10000) entities match', async () => {
      expectError(await batchDelete(flux, { prefix: `${prefix}/` }), 400, 'prefix matching 10001');
      expectError(await batchDelete(flux, { entity_ids: ids }), 400, 'entity_ids listing 10001 existing');
      expect(await countByPaging(), 'nothing may be deleted').toBe(10_001);

      // Exactly the maximum is allowed.
      const exactly = await batchDelete(flux, { entity_ids: ids.slice(1) });
      expectStatus(exactly, 200, '10000 entity_ids');
      expect(exactly.body.deleted).toBe(10_000);
      await waitFor(async () => (await countByPaging()) === 1, { timeoutMs: 60_000, intervalMs: 250, what: 'only one entity left' });
    }, 120_000);
  });
});

describe('deletion in public mode', () => {
  let nsA: string;
  let tokenA: string;
  let nsB: string;
  let tokenB: string;

  beforeAll(async () => {
    nsA = unique('pda');
    nsB = unique('pdb');
    tokenA = (await registerNamespace(pub, nsA, ADMIN)).token;
    tokenB = (await registerNamespace(pub, nsB, ADMIN)).token;
  });

  it('DELETE needs the owning namespace token: none 401, unknown 401, other namespace 403, own 200', async () => {
    const id = `${nsA}/victim`;
    await publishOk(pub, id, { a: 1 }, { token: tokenA });
    await waitForEntity(pub, id);
    expectError(await del(pub, id), 401, 'no token');
    expectError(await del(pub, id, { token: 'not-a-real-token' }), 401, 'unknown token');
    expectError(await del(pub, id, { headers: { authorization: `Basic ${tokenA}` } }), 401, 'malformed header');
    expectError(await del(pub, id, { token: tokenB }), 403, 'other namespace');
    expectError(await del(pub, id, { token: ADMIN }), 401, 'admin token is not a namespace token');
    expectStatus(await getEntity(pub, id), 200, 'still there after refused deletes');
    const ok = await del(pub, id, { token: tokenA, headers: { 'content-type': 'application/json' } });
    expectStatus(ok, 200);
    expect(ok.body.entity_id).toBe(id);
    await waitForGone(pub, id);
  });

  it('batch delete by namespace/prefix/entity_ids inside the token namespace works', async () => {
    await batchOk(
      pub,
      [envelope(`${nsA}/b1`, { n: 1 }), envelope(`${nsA}/b2`, { n: 1 }), envelope(`${nsA}/c1`, { n: 1 }), envelope(`${nsA}/d1`, { n: 1 })],
      tokenA,
    );
    for (const id of ['b1', 'b2', 'c1', 'd1']) await waitForEntity(pub, `${nsA}/${id}`);
    const byPrefix = await post(pub, '/api/state/entities/delete', { prefix: `${nsA}/b` }, { token: tokenA });
    expectStatus(byPrefix, 200);
    expect(byPrefix.body.deleted).toBe(2);
    const byIds = await post(pub, '/api/state/entities/delete', { entity_ids: [`${nsA}/c1`] }, { token: tokenA });
    expectStatus(byIds, 200);
    expect(byIds.body.deleted).toBe(1);
    const byNamespace = await post(pub, '/api/state/entities/delete', { namespace: nsA }, { token: tokenA });
    expectStatus(byNamespace, 200);
    expect(byNamespace.body.deleted).toBeGreaterThanOrEqual(1);
    for (const id of ['b1', 'b2', 'c1', 'd1']) await waitForGone(pub, `${nsA}/${id}`);
  });

  it('batch delete without a token is 401; foreign matches are 403 and nothing is deleted', async () => {
    const mineA = `${nsA}/keep-a`;
    const mineB = `${nsB}/keep-b`;
    await publishOk(pub, mineA, { a: 1 }, { token: tokenA });
    await publishOk(pub, mineB, { b: 1 }, { token: tokenB });
    await waitForEntity(pub, mineA);
    await waitForEntity(pub, mineB);

    expectError(await post(pub, '/api/state/entities/delete', { entity_ids: [mineA] }), 401, 'no token');
    expectError(await post(pub, '/api/state/entities/delete', { entity_ids: [mineA] }, { token: 'bogus' }), 401, 'unknown token');
    expectError(await post(pub, '/api/state/entities/delete', { namespace: nsB }, { token: tokenA }), 403, 'other namespace');
    expectError(await post(pub, '/api/state/entities/delete', { entity_ids: [mineA, mineB] }, { token: tokenA }), 403, 'mixed ids');
    // A prefix that spans both namespaces (common start of the two unique names) matches foreign ids.
    expectError(await post(pub, '/api/state/entities/delete', { prefix: 'pd' }, { token: tokenA }), 403, 'prefix spanning namespaces');

    expectStatus(await getEntity(pub, mineA), 200, `${mineA} must not be deleted`);
    expectStatus(await getEntity(pub, mineB), 200, `${mineB} must not be deleted`);
  });
});
