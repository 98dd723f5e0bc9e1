/** Contract section 10: health, readiness, metrics, OpenAPI and the flux-core/directory entity. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicEnv, startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import {
  ISO_UTC,
  batchOk,
  envelope,
  get,
  getEntity,
  listEntities,
  publish,
  publishOk,
  registerNamespace,
  request,
  unique,
  waitFor,
  waitForEntity,
  type Json,
} from './support/client.js';
import { expectError, expectStatus } from './support/expect.js';

const ADMIN = 'system-admin-token-0123456789abcd';
let flux: Deployment;
let pub: Deployment;

beforeAll(async () => {
  [flux, pub] = await Promise.all([startDeployment(), startDeployment({ env: publicEnv(ADMIN) })]);
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([flux?.dispose(), pub?.dispose()]);
});

describe('health and readiness', () => {
  it('GET /health is 200 {"status": "ok"} (JSON), in both modes, without a token', async () => {
    for (const target of [flux, pub]) {
      const response = await get(target, '/health');
      expectStatus(response, 200);
      expect(response.headers.get('content-type')).toContain('application/json');
      expect(response.body).toEqual({ status: 'ok' });
    }
  });

  it('GET /ready is 200 once serving', async () => {
    for (const target of [flux, pub]) expectStatus(await get(target, '/ready'), 200);
  });
});

describe('GET /metrics', () => {
  it('serves the Prometheus text format', async () => {
    await publishOk(flux, unique('metrics'), { n: 1 });
    const response = await get(flux, '/metrics');
    expectStatus(response, 200);
    const type = response.headers.get('content-type') ?? '';
    expect(type).toMatch(/^(text\/plain|application\/openmetrics-text)/);
    const lines = response.text.split('\n').filter((line) => line.length > 0);
    expect(lines.some((line) => line.startsWith('# HELP '))).toBe(true);
    expect(lines.some((line) => /^# TYPE \S+ (counter|gauge|histogram|summary|untyped|info|stateset|gaugehistogram|unknown)$/.test(line))).toBe(true);
    const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?\s+(-?[0-9.eE+-]+|NaN|[+-]?Inf)(\s+-?\d+)?$/;
    const bad = lines.filter((line) => !line.startsWith('#') && !sample.test(line));
    expect(bad, 'lines that are not valid Prometheus samples').toEqual([]);
    expect(lines.filter((line) => !line.startsWith('#')).length).toBeGreaterThan(0);
  });
});

describe('GET /api/openapi.json', () => {
  it('documents /metrics as the text it serves and the batch delete selectors with their bounds', async () => {
    const doc = (await get(flux, '/api/openapi.json')).body as Json;
    expect(Object.keys(doc.paths['/metrics'].get.responses['200'].content)).toEqual(['text/plain']);
    const selectors = doc.paths['/api/state/entities/delete'].post.requestBody.content['application/json'].schema.anyOf as Json[];
    expect(selectors.map((selector) => selector.required)).toEqual([['namespace'], ['prefix'], ['entity_ids']]);
    for (const selector of selectors.slice(0, 2))
      expect(Object.values(selector.properties)).toEqual([{ type: 'string', minLength: 1, maxLength: 512 }]);
  });

  it('is an OpenAPI 3 document describing the API paths', async () => {
    const response = await get(flux, '/api/openapi.json');
    expectStatus(response, 200);
    expect(response.headers.get('content-type')).toContain('application/json');
    const doc = response.body as Json;
    expect(String(doc.openapi)).toMatch(/^3\.\d+\.\d+$/);
    expect(typeof doc.info?.title).toBe('string');
    expect(typeof doc.info?.version).toBe('string');
    const paths = Object.fromEntries(
      Object.entries(doc.paths as Record<string, Record<string, unknown>>).map(([path, item]) => [
        path
          .replace(/\{[^}]+\}/g, '{}')
          .replace(/:\w+/g, '{}')
          .replace(/\*$/, '{}'),
        Object.keys(item).map((method) => method.toLowerCase()),
      ]),
    ) as Record<string, string[]>;
    const expected: Array<[string, string[]]> = [
      ['/api/events', ['post', 'get']],
      ['/api/events/batch', ['post']],
      ['/api/state/entities', ['get']],
      ['/api/state/entities/{}', ['get', 'delete']],
      ['/api/state/entities/delete', ['post']],
      ['/api/namespaces', ['post']],
      ['/api/namespaces/{}', ['get', 'delete']],
      ['/api/admin/config', ['get', 'put']],
      ['/api/connectors', ['get']],
      ['/api/connectors/{}', ['get']],
      ['/api/connectors/{}/token', ['post', 'delete']],
    ];
    for (const [path, methods] of expected) {
      expect(paths[path], `OpenAPI path ${path} (have: ${Object.keys(paths).join(', ')})`).toBeDefined();
      for (const method of methods) expect(paths[path], `${method.toUpperCase()} ${path}`).toContain(method);
    }
  });
});

describe('GET / (the dashboard, built by npm ci; libs/dashboard/test drives it in a browser)', () => {
  it('serves the page with a policy of its own scripts and its own WebSocket, and keeps it out of the OpenAPI document', async () => {
    for (const target of [flux, pub]) {
      const response = await get(target, '/');
      expectStatus(response, 200, 'GET / (npm run build:dashboard builds it)');
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.text).toContain(`<meta name="flux-mode" content="${target === pub ? 'public' : 'internal'}"`);
      const policy = response.headers.get('content-security-policy') ?? '';
      expect(policy).toContain("script-src 'self';");
      expect(policy).toContain(`connect-src 'self' ws://${new URL(target.baseUrl).host}`);
    }
    const paths = Object.keys((await get(flux, '/api/openapi.json')).body.paths as Record<string, unknown>);
    expect(paths.filter((path) => path === '/' || path.startsWith('/assets'))).toEqual([]);
  });
});

describe('flux-core/directory', () => {
  async function directory(target: Deployment): Promise<Json> {
    const response = await getEntity(target, 'flux-core/directory');
    expectStatus(response, 200, 'GET flux-core/directory');
    return response.body;
  }

  function expectDirectoryShape(entity: Json): void {
    expect(entity.id).toBe('flux-core/directory');
    const { namespaces, namespace_count: count, total_entities: total, updated_at: updatedAt } = entity.properties;
    expect(typeof namespaces).toBe('object');
    expect(Array.isArray(namespaces)).toBe(false);
    for (const [name, value] of Object.entries(namespaces as Record<string, Json>)) {
      expect(value, `namespaces.${name}`).toEqual({ entities: expect.any(Number) });
    }
    expect(Object.hasOwn(namespaces, 'flux-core'), 'flux-core is not listed').toBe(false);
    expect(count).toBe(Object.keys(namespaces).length);
    expect(Number.isInteger(total) && total >= 0).toBe(true);
    expect(updatedAt).toMatch(ISO_UTC);
  }

  it('internal mode: appears with namespaces = id parts before the first "/", kept current within ~12 s', async () => {
    const nsX = unique('dirx');
    const nsY = unique('diry');
    const plain = unique('dir-plain');
    await batchOk(flux, [
      envelope(`${nsX}/a`, { n: 1 }),
      envelope(`${nsX}/b/c`, { n: 1 }),
      envelope(`${nsY}/a`, { n: 1 }),
      envelope(plain, { n: 1 }),
    ]);
    const entity = await waitForEntity(
      flux,
      'flux-core/directory',
      (value) => value.properties?.namespaces?.[nsX]?.entities === 2 && value.properties?.namespaces?.[nsY]?.entities === 1,
      { timeoutMs: 12_000, intervalMs: 250 },
    );
    expectDirectoryShape(entity);
    expect(Object.keys(entity.properties.namespaces)).not.toContain(plain);

    // total_entities counts everything outside flux-core/, ids without "/" included.
    await waitFor(
      async () => {
        const all = await listEntities(flux);
        const counted = all.filter((value) => !String(value.id).startsWith('flux-core/')).length;
        const current = await directory(flux);
        return current.properties.total_entities === counted ? current : undefined;
      },
      { timeoutMs: 12_000, intervalMs: 250, what: 'total_entities to equal the entities outside flux-core/' },
    );
  });

  it('internal mode: follows deletions', async () => {
    const ns = unique('dirdel');
    await batchOk(flux, [envelope(`${ns}/a`, { n: 1 }), envelope(`${ns}/b`, { n: 1 })]);
    await waitForEntity(flux, 'flux-core/directory', (value) => value.properties?.namespaces?.[ns]?.entities === 2, {
      timeoutMs: 12_000,
      intervalMs: 250,
    });
    expectStatus(await request(flux, 'DELETE', `/api/state/entities/${encodeURIComponent(`${ns}/a`)}`), 200);
    await waitForEntity(flux, 'flux-core/directory', (value) => value.properties?.namespaces?.[ns]?.entities === 1, {
      timeoutMs: 12_000,
      intervalMs: 250,
    });
    expectStatus(await request(flux, 'DELETE', `/api/state/entities/${encodeURIComponent(`${ns}/b`)}`), 200);
    await waitForEntity(
      flux,
      'flux-core/directory',
      (value) => value.properties?.namespaces?.[ns] === undefined || value.properties.namespaces[ns].entities === 0,
      { timeoutMs: 12_000, intervalMs: 250 },
    );
  });

  it('is read-only: writes and deletes of flux-core/directory are refused', async () => {
    const before = await waitForEntity(flux, 'flux-core/directory', undefined, { timeoutMs: 12_000 });
    expectError(await publish(flux, 'flux-core/directory', { namespaces: 'hacked' }), [400, 403], 'publish');
    expectError(await request(flux, 'DELETE', '/api/state/entities/flux-core%2Fdirectory'), [400, 403], 'DELETE');
    const batch = await request(flux, 'POST', '/api/events/batch', { json: { events: [envelope('flux-core/directory', { total_entities: -1 })] } });
    expectStatus(batch, 200);
    expect(batch.body.failed).toBe(1);
    const after = await directory(flux);
    expect(typeof after.properties.namespaces).toBe('object');
    expect(after.properties.total_entities).not.toBe(-1);
    expect(after.version).toBeGreaterThanOrEqual(before.version);
  });

  it('public mode: lists registered namespaces with their entity counts and drops deleted ones', async () => {
    const ns = await registerNamespace(pub, unique('dirpub'), ADMIN);
    await publishOk(pub, `${ns.name}/a`, { n: 1 }, { token: ns.token });
    await publishOk(pub, `${ns.name}/b`, { n: 1 }, { token: ns.token });
    const entity = await waitForEntity(pub, 'flux-core/directory', (value) => value.properties?.namespaces?.[ns.name]?.entities === 2, {
      timeoutMs: 12_000,
      intervalMs: 250,
    });
    expectDirectoryShape(entity);
    expect(entity.properties.total_entities).toBeGreaterThanOrEqual(2);
    expectStatus(await request(pub, 'DELETE', `/api/namespaces/${ns.name}`, { token: ADMIN }), 204);
    await waitForEntity(pub, 'flux-core/directory', (value) => value.properties?.namespaces?.[ns.name] === undefined, {
      timeoutMs: 12_000,
      intervalMs: 250,
    });
  });

  it('public mode: nobody can write it (not even the admin token)', async () => {
    const ns = await registerNamespace(pub, unique('dirw'), ADMIN);
    expectError(await publish(pub, 'flux-core/directory', { x: 1 }, { token: ns.token }), 403);
    expectError(await publish(pub, 'flux-core/directory', { x: 1 }, { token: ADMIN }), [401, 403]);
  });
});
