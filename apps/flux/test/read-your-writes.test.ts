/**
 * Positions and read-your-writes: every acknowledged write carries the log position of its
 * event, entities and WebSocket messages carry the position of their change, `wait=applied`
 * answers once the event is applied (with the entity's version), and `min_position` makes a
 * read wait (bounded) until the state reflects a position.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePosition, parsePosition } from '@flux/domain';
import { startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import { encodeId, envelope, get, request, unique, type ApiResponse, type Json } from './support/client.js';
import { expectError, expectStatus, POSITION_FIELDS } from './support/expect.js';
import { WsClient, isEntityDeleted, isStateUpdate } from './support/ws-client.js';

let flux: Deployment;

beforeAll(async () => {
  // Few waiting requests per process, so the bound is reachable by a test.
  flux = await startDeployment({ env: { FLUX_MAX_WAITING_REQUESTS: '3' } });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await flux?.dispose();
});

const post = (path: string, json: unknown): Promise<ApiResponse> => request(flux, 'POST', path, { json });
const readEntity = (id: string, query = ''): Promise<ApiResponse> => get(flux, `/api/state/entities/${encodeId(id)}${query}`, { timeoutMs: 30_000 });

describe('positions of writes', () => {
  it('a published event answers with its position; the entity and its WebSocket updates carry the same one', async () => {
    const client = await WsClient.connect(flux.wsUrl);
    try {
      const id = `${unique('pos')}/a`;
      client.subscribe(id);
      const published = await post('/api/events', envelope(id, { n: 1 }));
      expectStatus(published, 200);
      expect(published.body).toEqual({ eventId: expect.any(String), stream: 'contract.tests', ...POSITION_FIELDS });
      const { position, partition, offset } = published.body as Json;
      expect(parsePosition(position)).toEqual({ partition, offset });

      const update = await client.waitFor(isStateUpdate(id, 'n'), { what: `state_update of ${id}` });
      expect(update.position).toBe(position);
      const entity = await readEntity(id, `?min_position=${position}`);
      expectStatus(entity, 200);
      expect(entity.body).toMatchObject({ id, version: 1, position });

      const listed = await get(flux, `/api/state/entities?prefix=${encodeURIComponent(id)}`);
      expect(listed.body).toEqual([expect.objectContaining({ id, position })]);

      const deleted = await request(flux, 'DELETE', `/api/state/entities/${encodeId(id)}`);
      expectStatus(deleted, 200);
      expect(deleted.body).toEqual({ entity_id: id, eventId: expect.any(String), ...POSITION_FIELDS });
      expect((deleted.body as Json).partition).toBe(partition);
      expect((deleted.body as Json).offset).toBeGreaterThan(offset);
      const gone = await client.waitFor(isEntityDeleted(id), { what: `entity_deleted of ${id}` });
      expect(gone.position).toBe((deleted.body as Json).position);
    } finally {
      await client.close();
    }
  });

  it('batch elements carry their positions; events of one entity have increasing offsets in one partition', async () => {
    const id = `${unique('pos-batch')}/a`;
    const response = await post('/api/events/batch', { events: [envelope(id, { n: 1 }), { bad: true }, envelope(id, { n: 2 })] });
    expectStatus(response, 200);
    const [first, failed, second] = (response.body as Json).results as Json[];
    expect(first).toEqual({ eventId: expect.any(String), stream: 'contract.tests', ...POSITION_FIELDS });
    expect(failed).toEqual({ error: expect.any(String) });
    expect(second.partition).toBe(first.partition);
    expect(second.offset).toBeGreaterThan(first.offset);
  });

  it('a batch delete answers with the position of its last tombstone in each partition touched', async () => {
    const prefix = `${unique('pos-del')}/`;
    const batch = await post('/api/events/batch?wait=applied', { events: [0, 1, 2, 3].map((n) => envelope(`${prefix}${n}`, { n })) });
    expectStatus(batch, 200);
    const response = await post('/api/state/entities/delete', { prefix });
    expectStatus(response, 200);
    const tokens = (response.body as Json).positions as string[];
    const byPartition = new Map(tokens.map((token) => [parsePosition(token)?.partition, token]));
    const written = ((batch.body as Json).results as Json[]).map((result) => result.partition as number);
    expect([...byPartition.keys()].sort()).toEqual([...new Set(written)].sort());
    // Read at its partition's token, every entity is gone, without polling.
    for (const [n, partition] of written.entries())
      expectStatus(await readEntity(`${prefix}${n}`, `?min_position=${byPartition.get(partition)}`), 404);
  });
});

describe('wait=applied', () => {
  it('answers once applied, with the new version; a read right after sees the write', async () => {
    const id = `${unique('wait')}/a`;
    for (let n = 1; n <= 3; n++) {
      const response = await post('/api/events?wait=applied', envelope(id, { n }));
      expectStatus(response, 200);
      expect(response.body).toEqual({ eventId: expect.any(String), stream: 'contract.tests', ...POSITION_FIELDS, version: n });
      // No min_position and no polling: the write is applied before its answer.
      const entity = await readEntity(id);
      expectStatus(entity, 200);
      expect(entity.body).toMatchObject({ version: n, properties: { n }, position: (response.body as Json).position });
    }
  });

  it('a tombstone waited for answers version 0, and the entity is gone at once', async () => {
    const id = `${unique('wait-del')}/a`;
    expectStatus(await post('/api/events?wait=applied', envelope(id, { n: 1 })), 200);
    const response = await post('/api/events?wait=applied', envelope(id, { __deleted__: true }));
    expectStatus(response, 200);
    expect((response.body as Json).version).toBe(0);
    expectStatus(await readEntity(id), 404);
  });

  it('a batch waited for reports each element with its version, decided in order', async () => {
    const id = `${unique('wait-batch')}/a`;
    const other = `${unique('wait-batch')}/b`;
    const response = await post('/api/events/batch?wait=applied&timeout_ms=10000', {
      events: [envelope(id, { n: 1 }), envelope(other, { n: 1 }), 'not an event', envelope(id, { n: 2 })],
    });
    expectStatus(response, 200);
    const body = response.body as Json;
    expect(body).toMatchObject({ successful: 3, failed: 1 });
    expect(body.results.map((result: Json) => result.version)).toEqual([1, 1, undefined, 2]);
    expect((await readEntity(id)).body).toMatchObject({ version: 2, properties: { n: 2 } });
    expect((await readEntity(other)).body).toMatchObject({ version: 1 });
  });

  it('refuses a wait it cannot honour: bad wait or timeout_ms is 400', async () => {
    const id = `${unique('wait-bad')}/a`;
    expect(expectError(await post('/api/events?wait=soon', envelope(id, { n: 1 })), 400)).toContain('wait');
    expect(expectError(await post('/api/events?wait=applied&timeout_ms=0', envelope(id, { n: 1 })), 400)).toContain('timeout_ms');
    expect(expectError(await post('/api/events/batch?timeout_ms=99999999', { events: [envelope(id, { n: 1 })] }), 400)).toContain('timeout_ms');
    // Nothing of it was appended.
    expectStatus(await readEntity(id), 404);
  });
});

describe('min_position', () => {
  it('waits until the partition is applied that far, then reads', async () => {
    const id = `${unique('minpos')}/a`;
    const responses = await Promise.all([1, 2, 3, 4, 5].map((n) => post('/api/events', envelope(id, { [`p${n}`]: n }))));
    const last = responses.map((response) => response.body as Json).reduce((a, b) => (b.offset > a.offset ? b : a));
    const entity = await readEntity(id, `?min_position=${last.position}`);
    expectStatus(entity, 200);
    expect(entity.body).toMatchObject({ version: 5, properties: { p1: 1, p2: 2, p3: 3, p4: 4, p5: 5 } });
  });

  it('times out with 504 and a JSON error when the position is not applied in time', async () => {
    const id = `${unique('minpos-late')}/a`;
    const written = (await post('/api/events?wait=applied', envelope(id, { n: 1 }))).body as Json;
    const ahead = encodePosition({ partition: written.partition, offset: written.offset + 1_000_000 });
    const started = Date.now();
    const response = await readEntity(id, `?min_position=${ahead}&timeout_ms=400`);
    expect(expectError(response, 504)).toEqual(expect.any(String));
    expect((response.body as Json).code).toBe('FLUX_WAIT_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('refuses a token Flux did not make, or one naming a partition the log lacks, with 400', async () => {
    const id = `${unique('minpos-bad')}/a`;
    for (const token of ['nope', 'MS4y3', '!!', encodePosition({ partition: 100_000, offset: 1 })]) {
      const response = await readEntity(id, `?min_position=${encodeURIComponent(token)}`);
      expect(expectError(response, 400), token).toContain('min_position');
    }
  });

  it('bounds the requests waiting at once: past the bound a wait is refused with 503', async () => {
    const id = `${unique('minpos-many')}/a`;
    const written = (await post('/api/events?wait=applied', envelope(id, { n: 1 }))).body as Json;
    const ahead = encodePosition({ partition: written.partition, offset: written.offset + 1_000_000 });
    // Three waiting requests per process (see beforeAll); in the cluster the balancer spreads
    // them over two query gateways, so nine are more than fit anywhere.
    const responses = await Promise.all(Array.from({ length: 9 }, () => readEntity(id, `?min_position=${ahead}&timeout_ms=3000`)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 503).length, `statuses ${statuses.join(',')}`).toBeGreaterThan(0);
    expect(
      statuses.every((status) => status === 503 || status === 504),
      `statuses ${statuses.join(',')}`,
    ).toBe(true);
    for (const response of responses) expectError(response, [503, 504]);
  });
});
