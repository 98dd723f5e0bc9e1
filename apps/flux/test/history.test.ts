/** Contract section 5: GET /api/events (history). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import { batchOk, envelope, get, publishOk, request, unique, waitFor, waitForEntity, waitForGone, type Json } from './support/client.js';
import { expectError, expectStatus } from './support/expect.js';

let flux: Deployment;

beforeAll(async () => {
  flux = await startDeployment();
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await flux?.dispose();
});

async function history(query: Record<string, string>): Promise<Json[]> {
  const response = await get(flux, `/api/events?${new URLSearchParams(query).toString()}`);
  expectStatus(response, 200, `history ${JSON.stringify(query)}`);
  expect(Array.isArray(response.body)).toBe(true);
  return response.body as Json[];
}

describe('GET /api/events (5)', () => {
  it('returns the stored envelopes of the entity, newest first', async () => {
    const id = `${unique('h-order')}/sensor`;
    const sent: Array<Record<string, unknown>> = [];
    for (let n = 1; n <= 5; n += 1) {
      const event = envelope(id, { n }, { stream: 'hist.test', source: `src-${n}`, timestamp: 1_700_000_000_000 + n, key: `k${n}`, schema: 's.v1' });
      const ack = await request(flux, 'POST', '/api/events', { json: event });
      expectStatus(ack, 200);
      sent.push({ ...event, eventId: ack.body.eventId });
    }
    await waitForEntity(flux, id, (entity) => entity.version === 5);
    const events = await history({ entity: id });
    expect(events).toHaveLength(5);
    expect(events.map((event) => event.payload.properties.n)).toEqual([5, 4, 3, 2, 1]);
    sent.reverse().forEach((expected, index) => expect(events[index]).toMatchObject(expected));
  });

  it('returns only that entity (not other ids sharing a prefix)', async () => {
    const id = unique('h-only');
    await batchOk(flux, [envelope(id, { mine: 1 }), envelope(`${id}-other`, { other: 1 }), envelope(`${id}/child`, { child: 1 })]);
    await waitForEntity(flux, `${id}/child`);
    await waitForEntity(flux, id);
    const events = await history({ entity: id });
    expect(events).toHaveLength(1);
    expect(events[0].payload.entity_id).toBe(id);
  });

  it('includes tombstones (DELETE and __deleted__), newest first', async () => {
    const id = unique('h-tomb');
    await publishOk(flux, id, { a: 1 });
    await waitForEntity(flux, id);
    const deleted = await request(flux, 'DELETE', `/api/state/entities/${encodeURIComponent(id)}`);
    expectStatus(deleted, 200);
    await waitForGone(flux, id);
    await publishOk(flux, id, { b: 2 });
    await waitForEntity(flux, id);
    const tomb = await publishOk(flux, id, { __deleted__: true });
    await waitForGone(flux, id);
    const events = await history({ entity: id });
    expect(events.map((event) => event.eventId)).toHaveLength(4);
    expect(events[0].eventId).toBe(tomb.eventId);
    expect(events[0].payload.properties).toEqual({ __deleted__: true });
    expect(events[2].eventId).toBe(deleted.body.eventId);
    expect(events[2].payload.entity_id).toBe(id);
    expect(events[3].payload.properties).toEqual({ a: 1 });
  });

  it('an unknown entity has an empty history', async () => {
    expect(await history({ entity: `${unique('h-none')}/x` })).toEqual([]);
  });

  it('limit returns the newest n events', async () => {
    const id = unique('h-limit');
    await batchOk(
      flux,
      Array.from({ length: 8 }, (_, index) => envelope(id, { n: index + 1 })),
    );
    await waitForEntity(flux, id, (entity) => entity.version === 8);
    expect((await history({ entity: id, limit: '3' })).map((event) => event.payload.properties.n)).toEqual([8, 7, 6]);
    expect((await history({ entity: id, limit: '1' })).map((event) => event.payload.properties.n)).toEqual([8]);
    expect(await history({ entity: id, limit: '100' })).toHaveLength(8);
  });

  it('defaults to the newest 100 and clamps limits above 500 to 500', async () => {
    const id = unique('h-clamp');
    const total = 520;
    const body = await batchOk(
      flux,
      Array.from({ length: total }, (_, index) => envelope(id, { n: index + 1 })),
    );
    expect(body.successful).toBe(total);
    await waitForEntity(flux, id, (entity) => entity.version === total, { timeoutMs: 20_000 });
    const byDefault = await history({ entity: id });
    expect(byDefault).toHaveLength(100);
    expect(byDefault[0].payload.properties.n).toBe(520);
    expect(byDefault[99].payload.properties.n).toBe(421);
    const clamped = await history({ entity: id, limit: '1000' });
    expect(clamped).toHaveLength(500);
    expect(clamped[0].payload.properties.n).toBe(520);
    expect(clamped[499].payload.properties.n).toBe(21);
    expect(await history({ entity: id, limit: '500' })).toHaveLength(500);
    expect(await history({ entity: id, limit: '501' })).toHaveLength(500);
  });

  it('since filters by the time Flux stored the event (not the producer timestamp)', async () => {
    const id = unique('h-since');
    // Producer timestamps far in the past and future must not matter.
    await publishOk(flux, id, { n: 1 }, { timestamp: 1_000 });
    await waitForEntity(flux, id);
    const afterFirst = Date.now();
    await waitFor(() => Date.now() > afterFirst + 2, { what: 'the clock to move on' });
    const since = new Date().toISOString();
    await waitFor(() => Date.now() > Date.parse(since) + 2, { what: 'the clock to move on' });
    await publishOk(flux, id, { n: 2 }, { timestamp: 1_000 });
    await publishOk(flux, id, { n: 3 }, { timestamp: 4_102_444_800_000 });
    await waitForEntity(flux, id, (entity) => entity.version === 3);

    expect((await history({ entity: id, since })).map((event) => event.payload.properties.n)).toEqual([3, 2]);
    expect((await history({ entity: id, since: '2000-01-01T00:00:00Z' })).map((event) => event.payload.properties.n)).toEqual([3, 2, 1]);
    expect(await history({ entity: id, since: new Date(Date.now() + 3_600_000).toISOString() })).toEqual([]);
    // since and limit combine: newest `limit` of those stored since `since`.
    expect((await history({ entity: id, since: '2000-01-01T00:00:00Z', limit: '1' })).map((event) => event.payload.properties.n)).toEqual([3]);
  });

  it('the default since is 24 hours ago: events with old producer timestamps stored now are returned', async () => {
    const id = unique('h-default-since');
    await publishOk(flux, id, { n: 1 }, { timestamp: 86_400_000 });
    await waitForEntity(flux, id);
    expect(await history({ entity: id })).toHaveLength(1);
  });

  it('accepts ISO 8601 with offsets and without milliseconds', async () => {
    const id = unique('h-iso');
    await publishOk(flux, id, { n: 1 });
    await waitForEntity(flux, id);
    expect(await history({ entity: id, since: '2020-06-01T12:00:00+02:00' })).toHaveLength(1);
    expect(await history({ entity: id, since: '2020-06-01T12:00:00.000Z' })).toHaveLength(1);
    expect(await history({ entity: id, since: '2020-06-01T12:00:00Z' })).toHaveLength(1);
  });

  it.each([
    ['entity missing', ''],
    ['entity empty', 'entity='],
    ['since not ISO 8601 (words)', 'entity=x&since=yesterday'],
    ['since not ISO 8601 (invalid date)', 'entity=x&since=2024-13-45T99:00:00Z'],
    ['since epoch milliseconds', 'entity=x&since=1700000000000'],
    ['limit zero', 'entity=x&limit=0'],
    ['limit negative', 'entity=x&limit=-3'],
    ['limit not a number', 'entity=x&limit=ten'],
    ['limit fractional', 'entity=x&limit=2.5'],
    ['limit empty', 'entity=x&limit='],
  ])('answers 400 when %s', async (_label, query) => {
    expectError(await get(flux, `/api/events${query === '' ? '' : `?${query}`}`), 400, query);
  });
});
