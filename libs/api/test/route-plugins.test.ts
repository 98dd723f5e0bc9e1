/**
 * The route plugins on their own: what each hands its service (the caller, the parsed query),
 * how it shapes the answer, and the {error, code} of what it refuses. The services are stubs;
 * the Authorizer is the real one over a control store that knows one namespace token.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { Authorizer, hashToken, type ControlStore, type Principal } from '@flux/core';
import { DEFAULT_RUNTIME_CONFIG, encodePosition, HISTORY_MAX_PER_ENTITY, type StoredEvent } from '@flux/domain';
import type { IngestDeps, QueryDeps } from '../src/api-deps.js';
import { registerErrorHandling } from '../src/http/errors.js';
import { adminRoutes } from '../src/routes/admin-routes.js';
import { historyRoutes, publishRoutes } from '../src/routes/event-routes.js';
import { namespaceRoutes } from '../src/routes/namespace-routes.js';
import { NEXT_CURSOR_HEADER } from '../src/http/header-names.js';
import { entityDeleteRoutes, entityReadRoutes } from '../src/routes/state-routes.js';

const ADMIN_TOKEN = 'admin-secret';
const SENSORS_TOKEN = 'sensors-secret';

function authorizer(authEnabled: boolean): Authorizer {
  const sensors = { namespaceId: 'ns-1', name: 'sensors', tokenHash: hashToken(SENSORS_TOKEN), createdAt: 0 };
  const control = {
    findNamespaceByTokenHash: async (tokenHash: string) => (tokenHash === sensors.tokenHash ? sensors : undefined),
  } as unknown as ControlStore;
  return new Authorizer({ authEnabled, adminToken: ADMIN_TOKEN, control });
}

/** What a stub service was called with. */
const calls: unknown[][] = [];
const recorded =
  <T>(answer: T) =>
  async (...args: unknown[]): Promise<T> => {
    calls.push(args);
    return answer;
  };

let app: FastifyInstance | undefined;

/** A bare Fastify with the API's error handling and schema handling, and `register`'s routes. */
async function serve(register: (app: FastifyInstance) => void): Promise<FastifyInstance> {
  calls.length = 0;
  app = Fastify();
  // As in buildServer: schemas only document; the handlers validate.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  registerErrorHandling(app);
  register(app);
  await app.ready();
  return app;
}

afterEach(async () => {
  await app?.close();
  app = undefined;
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('event routes', () => {
  const published = { eventId: 'e-1', stream: 'agent', position: 'p', partition: 0, offset: 3 };
  const ingestDeps = (authEnabled: boolean, batchResults: unknown[] = []): IngestDeps =>
    ({
      authorizer: authorizer(authEnabled),
      ingest: { publish: recorded(published), publishBatch: recorded(batchResults) },
    }) as unknown as IngestDeps;

  it("POST /api/events hands ingest the body, the caller's namespace and the wait, and answers its result", async () => {
    const server = await serve((instance) => publishRoutes(instance, ingestDeps(true)));
    const body = { entity_id: 'sensors/a', properties: { t: 1 } };
    const response = await server.inject({
      method: 'POST',
      url: '/api/events?wait=applied&timeout_ms=250',
      headers: bearer(SENSORS_TOKEN),
      payload: body,
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(published);
    expect(calls).toHaveLength(1);
    const [passedBody, principal, , wait] = calls[0]!;
    expect(passedBody).toEqual(body);
    expect(principal).toEqual({ kind: 'namespace', namespace: 'sensors' } satisfies Principal);
    expect(wait).toEqual({ applied: true, timeoutMs: 250 });
  });

  it('POST /api/events refuses an unknown wait with 400 FLUX_VALIDATION naming it, before ingest', async () => {
    const server = await serve((instance) => publishRoutes(instance, ingestDeps(false)));
    const response = await server.inject({ method: 'POST', url: '/api/events?wait=later', payload: { entity_id: 'a' } });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'FLUX_VALIDATION', error: expect.stringContaining('wait') });
    expect(calls).toHaveLength(0);
  });

  it('in public mode a write needs a namespace token: none, an unknown one or the admin token is a 401', async () => {
    const server = await serve((instance) => publishRoutes(instance, ingestDeps(true)));
    for (const headers of [{}, bearer('nobody'), bearer(ADMIN_TOKEN)]) {
      const response = await server.inject({ method: 'POST', url: '/api/events', headers, payload: { entity_id: 'sensors/a' } });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ code: 'FLUX_UNAUTHORIZED' });
    }
    expect(calls).toHaveLength(0);
  });

  it('POST /api/events/batch refuses a missing, non-array or empty events with 400', async () => {
    const server = await serve((instance) => publishRoutes(instance, ingestDeps(false)));
    for (const payload of [{}, { events: 'x' }, { events: [] }]) {
      const response = await server.inject({ method: 'POST', url: '/api/events/batch', payload });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'FLUX_VALIDATION', error: expect.stringContaining('events') });
    }
    expect(calls).toHaveLength(0);
  });

  it('POST /api/events/batch counts the successful and failed results, in input order', async () => {
    const results = [published, { error: 'entity_id is required', code: 'FLUX_VALIDATION' }, { ...published, eventId: 'e-2' }];
    const server = await serve((instance) => publishRoutes(instance, ingestDeps(false, results)));
    const response = await server.inject({ method: 'POST', url: '/api/events/batch', payload: { events: [{}, {}, {}] } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ successful: 2, failed: 1, results });
    expect(calls[0]![0]).toEqual([{}, {}, {}]);
  });

  it('GET /api/events requires the entity, reads since the given time and caps the limit', async () => {
    const stored: StoredEvent[] = [];
    const deps = { reader: { history: recorded(stored) } } as unknown as QueryDeps;
    const server = await serve((instance) => historyRoutes(instance, deps));

    const missing = await server.inject({ method: 'GET', url: '/api/events' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ code: 'FLUX_VALIDATION', error: expect.stringContaining('entity') });

    const since = '2026-01-02T03:04:05.000Z';
    const response = await server.inject({ method: 'GET', url: `/api/events?entity=a%2Fb&since=${since}&limit=999999999` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual([]);
    expect(calls).toEqual([['a/b', { sinceMs: Date.parse(since), limit: HISTORY_MAX_PER_ENTITY }]]);
  });
});

describe('state routes', () => {
  const entityJson = JSON.stringify({ properties: { t: 1 }, version: 2, lastUpdated: 1_000 });
  const queryDeps = (entities: Record<string, string>, page?: { entities: unknown[]; lastId?: string }): QueryDeps =>
    ({
      reader: {
        getEntityJson: async (id: string) => entities[id],
        listEntities: recorded(page ?? { entities: [] }),
      },
      listMaxLimit: 100,
      partitionCount: 4,
      waitTimeoutMs: 1_000,
    }) as unknown as QueryDeps;

  it('GET one entity answers its view, or 404 FLUX_NOT_FOUND', async () => {
    const server = await serve((instance) => entityReadRoutes(instance, queryDeps({ 'a/b': entityJson })));
    const found = await server.inject({ method: 'GET', url: '/api/state/entities/a%2Fb' });
    expect(found.statusCode).toBe(200);
    expect(found.json()).toMatchObject({ id: 'a/b', properties: { t: 1 }, version: 2 });
    // The raw-slash twin of the route serves the same entity.
    expect((await server.inject({ method: 'GET', url: '/api/state/entities/a/b' })).json()).toEqual(found.json());

    const absent = await server.inject({ method: 'GET', url: '/api/state/entities/a%2Fc' });
    expect(absent.statusCode).toBe(404);
    expect(absent.json()).toEqual({ error: 'Entity not found', code: 'FLUX_NOT_FOUND' });
  });

  it('GET one entity with min_position on a server that cannot wait is 500 FLUX_NOT_CONFIGURED', async () => {
    const server = await serve((instance) => entityReadRoutes(instance, queryDeps({ 'a/b': entityJson })));
    const position = encodePosition({ partition: 1, offset: 5 });
    const response = await server.inject({ method: 'GET', url: `/api/state/entities/a%2Fb?min_position=${position}` });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({ code: 'FLUX_NOT_CONFIGURED' });
  });

  it('a paged list caps the limit at listMaxLimit, resumes after the cursor and hands out the next one', async () => {
    const page = { entities: [], lastId: 'a/z' };
    const server = await serve((instance) => entityReadRoutes(instance, queryDeps({}, page)));
    const first = await server.inject({ method: 'GET', url: '/api/state/entities?prefix=a%2F&limit=5000' });
    expect(first.statusCode).toBe(200);
    expect(calls[0]).toEqual([{ prefix: 'a/', limit: 100 }]);
    const cursor = first.headers[NEXT_CURSOR_HEADER.toLowerCase()];
    expect(typeof cursor).toBe('string');
    await server.inject({ method: 'GET', url: `/api/state/entities?prefix=a%2F&cursor=${String(cursor)}` });
    expect(calls[1]).toEqual([{ prefix: 'a/', limit: 100, after: 'a/z' }]);

    const forged = await server.inject({ method: 'GET', url: '/api/state/entities?cursor=not!a!cursor' });
    expect(forged.statusCode).toBe(400);
    expect(forged.json()).toMatchObject({ code: 'FLUX_VALIDATION' });
  });

  it('an unpaged list streams every page and lets timers run between pages, however many there are', async () => {
    const pages = 40;
    let read = 0;
    let readBeforeTimer: number | undefined;
    const deps = {
      reader: {
        // Each page costs 2 ms of synchronous work, as reading and decoding one does.
        listEntities: async ({ after }: { after?: string }) => {
          const until = performance.now() + 2;
          while (performance.now() < until) {
            // busy
          }
          const index = after === undefined ? 0 : Number(after.slice(2)) + 1;
          read++;
          const id = `a/${index}`;
          const entity = { properties: { n: index }, version: 1, lastUpdated: 1 };
          return index + 1 < pages ? { entities: [{ id, entity }], lastId: id } : { entities: [{ id, entity }] };
        },
      },
      listMaxLimit: 100,
      partitionCount: 4,
      waitTimeoutMs: 1_000,
    } as unknown as QueryDeps;
    const server = await serve((instance) => entityReadRoutes(instance, deps));
    setTimeout(() => {
      readBeforeTimer = read;
    }, 0);
    const response = await server.inject({ method: 'GET', url: '/api/state/entities?prefix=a%2F' });
    expect(response.statusCode).toBe(200);
    expect((response.json() as { id: string }[]).map(({ id }) => id)).toEqual(Array.from({ length: pages }, (_, n) => `a/${n}`));
    // The timer ran after a few pages (one turn's budget), not after all forty (80 ms).
    expect(readBeforeTimer).toBeDefined();
    expect(readBeforeTimer!).toBeLessThan(10);
  });

  it("DELETE one entity hands deletion the id and the caller's principal", async () => {
    const deps = {
      authorizer: authorizer(true),
      deletion: { deleteOne: recorded({ entity_id: 'sensors/a', eventId: 'e-1' }) },
    } as unknown as IngestDeps;
    const server = await serve((instance) => entityDeleteRoutes(instance, deps));
    const response = await server.inject({ method: 'DELETE', url: '/api/state/entities/sensors%2Fa', headers: bearer(SENSORS_TOKEN) });
    expect(response.statusCode).toBe(200);
    expect(calls).toEqual([['sensors/a', { kind: 'namespace', namespace: 'sensors' }]]);
  });
});

describe('admin and namespace routes', () => {
  const queryDeps = (authEnabled: boolean): QueryDeps =>
    ({
      authorizer: authorizer(authEnabled),
      runtimeConfig: { current: DEFAULT_RUNTIME_CONFIG, update: recorded(DEFAULT_RUNTIME_CONFIG) },
      namespaces: { register: recorded({ namespaceId: 'ns-2', name: 'lights', token: 't' }) },
    }) as unknown as QueryDeps;

  it('PUT /api/admin/config needs the admin token; with it the update goes to the runtime config', async () => {
    const server = await serve((instance) => adminRoutes(instance, queryDeps(true)));
    const update = { rate_limit_per_namespace_per_minute: 5 };
    for (const headers of [{}, bearer(SENSORS_TOKEN)]) {
      const refused = await server.inject({ method: 'PUT', url: '/api/admin/config', headers, payload: update });
      expect(refused.statusCode).toBe(401);
      expect(refused.json()).toMatchObject({ code: 'FLUX_UNAUTHORIZED' });
    }
    expect(calls).toHaveLength(0);
    const accepted = await server.inject({ method: 'PUT', url: '/api/admin/config', headers: bearer(ADMIN_TOKEN), payload: update });
    expect(accepted.statusCode).toBe(200);
    expect(calls).toEqual([[update]]);
  });

  it('namespaces exist only in public mode: in internal mode every route is 404 FLUX_NOT_FOUND', async () => {
    const server = await serve((instance) => namespaceRoutes(instance, queryDeps(false)));
    const response = await server.inject({ method: 'POST', url: '/api/namespaces', headers: bearer(ADMIN_TOKEN), payload: { name: 'lights' } });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'FLUX_NOT_FOUND' });
  });

  it('a namespace name against the rules is 400 before any lookup; registering needs the admin token', async () => {
    const server = await serve((instance) => namespaceRoutes(instance, queryDeps(true)));
    const invalid = await server.inject({ method: 'GET', url: '/api/namespaces/A!' });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toMatchObject({ code: 'FLUX_VALIDATION' });

    const anonymous = await server.inject({ method: 'POST', url: '/api/namespaces', payload: { name: 'lights' } });
    expect(anonymous.statusCode).toBe(401);
    const registered = await server.inject({ method: 'POST', url: '/api/namespaces', headers: bearer(ADMIN_TOKEN), payload: { name: 'lights' } });
    expect(registered.statusCode).toBe(200);
    expect(registered.json()).toEqual({ namespaceId: 'ns-2', name: 'lights', token: 't' });
    expect(calls).toEqual([['lights']]);
  });
});
