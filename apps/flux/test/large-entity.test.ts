/**
 * Issue 9, defect 2: one large entity must not freeze the server. An entity has a configurable
 * size bound (FLUX_MAX_ENTITY_PROPERTIES, FLUX_MAX_ENTITY_BYTES): ingest refuses an event that
 * exceeds it on its own (413, nothing appended), and the reducer leaves an entity unchanged when
 * an acknowledged event would push it past the bound. Small bounds keep the file fast.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import { batchOk, encodeId, get, publish, publishOk, unique, waitForEntity, type Json } from './support/client.js';
import { expectError, expectStatus, POSITION_FIELDS } from './support/expect.js';
import { reducerMetricsUrls, scrape, total } from './support/metrics.js';

const MAX_PROPERTIES = 20;
const MAX_BYTES = 2048;

let flux: Deployment;

beforeAll(async () => {
  flux = await startDeployment({ env: { FLUX_MAX_ENTITY_PROPERTIES: String(MAX_PROPERTIES), FLUX_MAX_ENTITY_BYTES: String(MAX_BYTES) } });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await flux?.dispose();
});

/** `count` properties `p0`, `p1`, ... */
const properties = (count: number, value: unknown = 1): Record<string, unknown> =>
  Object.fromEntries(Array.from({ length: count }, (_, index) => [`p${index}`, value]));

/**
 * Runs `steps` while asking GET /health in a loop, and asserts that every ask was answered 200:
 * the server kept serving while it refused and applied what the steps sent.
 */
async function whileAnsweringHealth(steps: () => Promise<void>): Promise<void> {
  const statuses: (number | string)[] = [];
  let done = false;
  const watcher = (async () => {
    while (!done) {
      const status = await get(flux, '/health', { timeoutMs: 5_000 }).then(
        (response) => response.status,
        (error: unknown) => (error instanceof Error ? `${error.message} (${String((error as { cause?: unknown }).cause)})` : String(error)),
      );
      statuses.push(status);
      // A polling period, not a wait for a condition: the loop only samples while steps run.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    await steps();
  } finally {
    done = true;
    await watcher;
  }
  expect(statuses.length).toBeGreaterThan(0);
  expect(
    statuses.filter((status) => status !== 200),
    'GET /health answers other than 200',
  ).toEqual([]);
}

const entityWith = (id: string, predicate: (entity: Json) => boolean): Promise<Json> => waitForEntity(flux, id, predicate);

describe('defect 2: an entity has a size bound', () => {
  it.each([
    ['properties', properties(MAX_PROPERTIES + 1), `limit of ${MAX_PROPERTIES}`],
    ['bytes', { text: 'x'.repeat(MAX_BYTES) }, `limit of ${MAX_BYTES}`],
  ])('defect 2: a single event over the %s bound is a 413 naming it, and its entity is unchanged', async (_kind, over, limit) => {
    const id = `${unique('bound')}/single`;
    await whileAnsweringHealth(async () => {
      await publishOk(flux, id, { a: 1 });
      await entityWith(id, (entity) => entity.version === 1);

      const refused = await publish(flux, id, over);
      expect(expectError(refused, 413)).toContain(limit);
      expect(refused.body.code).toBe('FLUX_PAYLOAD_TOO_LARGE');

      // Nothing was appended: the next event is the entity's second.
      await publishOk(flux, id, { b: 2 });
      const entity = await entityWith(id, (candidate) => candidate.properties.b === 2);
      expect(entity).toMatchObject({ version: 2, properties: { a: 1, b: 2 } });
      const history = await get(flux, `/api/events?entity=${encodeId(id)}`);
      expectStatus(history, 200);
      expect(history.body).toHaveLength(2);
    });
  });

  it('defect 2: a batch [ok, over the bound, ok] refuses only the middle element and applies the other two', async () => {
    const id = `${unique('bound')}/batch`;
    await whileAnsweringHealth(async () => {
      const events = [
        { stream: 'contract.tests', source: 'large-entity', timestamp: Date.now(), payload: { entity_id: id, properties: { x: 1 } } },
        {
          stream: 'contract.tests',
          source: 'large-entity',
          timestamp: Date.now(),
          eventId: 'over-the-bound',
          payload: { entity_id: id, properties: properties(MAX_PROPERTIES + 5) },
        },
        { stream: 'contract.tests', source: 'large-entity', timestamp: Date.now(), payload: { entity_id: id, properties: { y: 2 } } },
      ];
      const body = await batchOk(flux, events);
      expect(body).toMatchObject({ successful: 2, failed: 1 });
      expect(body.results[0]).toEqual({ eventId: expect.any(String), stream: 'contract.tests', ...POSITION_FIELDS });
      expect(body.results[1]).toEqual({
        error: expect.stringContaining(`limit of ${MAX_PROPERTIES}`),
        eventId: 'over-the-bound',
        stream: 'contract.tests',
      });
      expect(body.results[2]).toEqual({ eventId: expect.any(String), stream: 'contract.tests', ...POSITION_FIELDS });

      const entity = await entityWith(id, (candidate) => candidate.version === 2);
      expect(entity.properties).toEqual({ x: 1, y: 2 });
    });
  });

  it.each([
    // 19 properties, then two more: 21.
    ['properties', properties(MAX_PROPERTIES - 1), { q0: 1, q1: 1 }, { p0: 'after' }],
    // {"big":"x…"} is 10 bytes more than its string: 2040 bytes, then 20 more.
    ['bytes', { big: 'x'.repeat(MAX_BYTES - 18) }, { more: 'y'.repeat(10) }, { big: 'after' }],
  ])(
    'defect 2: an entity just under the %s bound pushed over it by a small event keeps its version and properties',
    async (_kind, grown, push, after) => {
      const id = `${unique('bound')}/grown`;
      await whileAnsweringHealth(async () => {
        await publishOk(flux, id, grown);
        await entityWith(id, (entity) => entity.version === 1);

        // Fine on its own, so acknowledged; the reducer then leaves the entity as it was.
        await publishOk(flux, id, push);
        // An event that fits still applies after it, on the entity as it was.
        await publishOk(flux, id, after);
        const entity = await entityWith(id, (candidate) => candidate.properties[Object.keys(after)[0]!] === 'after');
        expect(entity.version).toBe(2);
        expect(entity.properties).toEqual({ ...grown, ...after });
      });

      // The reducer that refused it counts it (the embedded server, or a shard's metrics port).
      const scrapes = await Promise.all(reducerMetricsUrls(flux).map(([, url]) => scrape(url)));
      expect(total(scrapes.flat(), 'flux_events_refused_total', { reason: 'entity_limit' })).toBeGreaterThan(0);
    },
  );
});
