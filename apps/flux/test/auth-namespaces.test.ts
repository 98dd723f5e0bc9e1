/**
 * Contract section 7: auth and namespaces. Three deployments: public mode with an admin token,
 * public mode without one (admin operations refused), and internal mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicEnv, startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import {
  ISO_UTC,
  envelope,
  get,
  getEntity,
  post,
  publish,
  publishOk,
  registerNamespace,
  request,
  unique,
  waitFor,
  waitForEntity,
  waitForGone,
  type Json,
} from './support/client.js';
import { expectError, expectStatus, POSITION_FIELDS } from './support/expect.js';
import { WsClient, isStateUpdate } from './support/ws-client.js';

const ADMIN = 'auth-admin-token-abcdefghijklmnop';
let pub: Deployment;
let noAdmin: Deployment;
let internal: Deployment;

beforeAll(async () => {
  [pub, noAdmin, internal] = await Promise.all([
    startDeployment({ env: publicEnv(ADMIN) }),
    startDeployment({ env: publicEnv(undefined) }),
    startDeployment(),
  ]);
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([pub?.dispose(), noAdmin?.dispose(), internal?.dispose()]);
});

describe('POST /api/namespaces (public mode, admin token set)', () => {
  it('registers a namespace: 200 {namespaceId, name, token}', async () => {
    const name = unique('reg');
    const response = await post(pub, '/api/namespaces', { name }, { token: ADMIN });
    expectStatus(response, 200);
    expect(Object.keys(response.body).sort()).toEqual(['name', 'namespaceId', 'token']);
    expect(response.body.name).toBe(name);
    expect(typeof response.body.namespaceId).toBe('string');
    expect(response.body.namespaceId.length).toBeGreaterThan(0);
    expect(typeof response.body.token).toBe('string');
    expect(response.body.token.length).toBeGreaterThanOrEqual(16);
    expect(response.body.token).not.toBe(ADMIN);
  });

  it('needs the admin token: missing or wrong gives 401', async () => {
    const name = unique('reg-noadmin');
    expectError(await post(pub, '/api/namespaces', { name }), 401, 'no token');
    expectError(await post(pub, '/api/namespaces', { name }, { token: `${ADMIN}x` }), 401, 'wrong token');
    expectError(await post(pub, '/api/namespaces', { name }, { headers: { authorization: ADMIN } }), 401, 'no Bearer scheme');
    const other = await registerNamespace(pub, unique('reg-nsadm'), ADMIN);
    expectError(await post(pub, '/api/namespaces', { name }, { token: other.token }), 401, 'a namespace token is not the admin token');
    expectError(await get(pub, `/api/namespaces/${name}`), 404, 'nothing was registered');
  });

  it('answers 409 when the name is taken', async () => {
    const name = unique('reg-dup');
    await registerNamespace(pub, name, ADMIN);
    expectError(await post(pub, '/api/namespaces', { name }, { token: ADMIN }), 409);
  });

  it.each([
    ['too short', 'ab'],
    ['too long', 'a'.repeat(33)],
    ['uppercase', 'Abc-def'],
    ['a space', 'abc def'],
    ['a dot', 'abc.def'],
    ['a slash', 'abc/def'],
    ['empty', ''],
    ['not a string', 12345],
    ['unicode', 'ñamespace'],
  ])('rejects a name with %s (400)', async (_label, name) => {
    expectError(await post(pub, '/api/namespaces', { name }, { token: ADMIN }), 400, JSON.stringify(name));
  });

  it('rejects a missing name or a non-object body (400)', async () => {
    expectError(await post(pub, '/api/namespaces', {}, { token: ADMIN }), 400);
    expectError(await post(pub, '/api/namespaces', ['abc'], { token: ADMIN }), 400);
  });

  it('accepts the boundaries: 3 and 32 characters of [a-z0-9_-]', async () => {
    const three = `${Math.random().toString(36).slice(2, 4)}_`;
    const r3 = await post(pub, '/api/namespaces', { name: three }, { token: ADMIN });
    expectStatus(r3, [200, 409], `3 characters ${three}`);
    const long = unique('b32_-').padEnd(32, '0');
    expect(long).toHaveLength(32);
    expectStatus(await post(pub, '/api/namespaces', { name: long }, { token: ADMIN }), 200, '32 characters');
  });

  it('flux-core is reserved', async () => {
    const response = await post(pub, '/api/namespaces', { name: 'flux-core' }, { token: ADMIN });
    expectError(response, [400, 403, 409]);
  });
});

describe('GET and DELETE /api/namespaces/:name (public mode)', () => {
  it('GET returns {namespaceId, name, createdAt, entityCount} with the real count; it is open', async () => {
    const name = unique('info');
    const registered = await registerNamespace(pub, name, ADMIN);
    const empty = await get(pub, `/api/namespaces/${name}`);
    expectStatus(empty, 200);
    expect(Object.keys(empty.body).sort()).toEqual(['createdAt', 'entityCount', 'name', 'namespaceId']);
    expect(empty.body).toMatchObject({ namespaceId: registered.namespaceId, name, entityCount: 0 });
    expect(empty.body.createdAt).toMatch(ISO_UTC);
    expect(Math.abs(Date.parse(empty.body.createdAt) - Date.now())).toBeLessThan(60_000);

    for (const entity of ['a', 'b/c', 'd/e/f']) await publishOk(pub, `${name}/${entity}`, { n: 1 }, { token: registered.token });
    await publishOk(pub, `${name}/a`, { n: 2 }, { token: registered.token });
    await waitFor(async () => (await get(pub, `/api/namespaces/${name}`)).body?.entityCount === 3, { what: 'entityCount 3' });
    expectStatus(await request(pub, 'DELETE', `/api/state/entities/${encodeURIComponent(`${name}/b/c`)}`, { token: registered.token }), 200);
    await waitFor(async () => (await get(pub, `/api/namespaces/${name}`)).body?.entityCount === 2, { what: 'entityCount 2 after a delete' });
  });

  it('GET of an unknown namespace is 404', async () => {
    expectError(await get(pub, `/api/namespaces/${unique('unknown')}`), 404);
  });

  it('DELETE needs the admin token (401), then answers 204 and the token stops working', async () => {
    const name = unique('gone');
    const { token } = await registerNamespace(pub, name, ADMIN);
    await publishOk(pub, `${name}/before`, { n: 1 }, { token });
    expectError(await request(pub, 'DELETE', `/api/namespaces/${name}`), 401, 'no token');
    expectError(await request(pub, 'DELETE', `/api/namespaces/${name}`, { token }), 401, 'its own namespace token is not the admin token');
    expectError(await request(pub, 'DELETE', `/api/namespaces/${name}`, { token: 'wrong' }), 401, 'wrong token');
    const deleted = await request(pub, 'DELETE', `/api/namespaces/${name}`, { token: ADMIN });
    expectStatus(deleted, 204);
    expect(deleted.text).toBe('');
    expectError(await publish(pub, `${name}/after`, { n: 1 }, { token }), 401, 'token of a deleted namespace');
    expectError(await get(pub, `/api/namespaces/${name}`), 404, 'GET after delete');
  });

  it('DELETE of an unknown namespace is 404', async () => {
    expectError(await request(pub, 'DELETE', `/api/namespaces/${unique('nope')}`, { token: ADMIN }), 404);
  });
});

describe('writes in public mode', () => {
  let nsA: string;
  let tokenA: string;
  let nsB: string;
  let tokenB: string;

  beforeAll(async () => {
    nsA = unique('wa');
    nsB = unique('wb');
    tokenA = (await registerNamespace(pub, nsA, ADMIN)).token;
    tokenB = (await registerNamespace(pub, nsB, ADMIN)).token;
  });

  it('a namespace token writes <namespace>/<rest>, rest may contain more "/"', async () => {
    for (const id of [`${nsA}/sensor-01`, `${nsA}/github/repo/issues/42`]) {
      const response = await publish(pub, id, { ok: true }, { token: tokenA });
      expectStatus(response, 200, id);
      await waitForEntity(pub, id);
    }
  });

  it('missing, malformed or unknown token: 401', async () => {
    const id = `${nsA}/unauth`;
    expectError(await publish(pub, id, { n: 1 }), 401, 'missing');
    expectError(await publish(pub, id, { n: 1 }, { token: 'definitely-not-a-token' }), 401, 'unknown');
    for (const header of [tokenA, `Basic ${tokenA}`, 'Bearer', 'Bearer ', `bearer-${tokenA}`, `Token ${tokenA}`]) {
      const response = await request(pub, 'POST', '/api/events', { json: envelope(id, { n: 1 }), headers: { authorization: header } });
      expectError(response, 401, `Authorization: ${header.replace(tokenA, '<token>')}`);
    }
    expect((await getEntity(pub, id)).status).toBe(404);
  });

  it('the bearer scheme is case-insensitive', async () => {
    const id = `${nsA}/scheme`;
    const response = await request(pub, 'POST', '/api/events', { json: envelope(id, { n: 1 }), headers: { authorization: `bearer ${tokenA}` } });
    expectStatus(response, 200);
  });

  it('a valid token writing outside its namespace, or to a namespace that does not exist: 403', async () => {
    expectError(await publish(pub, `${nsB}/intrusion`, { n: 1 }, { token: tokenA }), 403, 'other namespace');
    expectError(await publish(pub, `${unique('ghost')}/x`, { n: 1 }, { token: tokenA }), 403, 'unregistered namespace');
    expectError(await publish(pub, `${nsA}x/y`, { n: 1 }, { token: tokenA }), 403, 'namespace sharing a prefix');
    expectError(await publish(pub, 'flux-core/directory', { n: 1 }, { token: tokenA }), 403, 'flux-core');
    expect((await getEntity(pub, `${nsB}/intrusion`)).status).toBe(404);
  });

  it('an id with no namespace prefix (or an empty rest) is rejected with 400 or 401', async () => {
    expectError(await publish(pub, 'no-namespace-here', { n: 1 }, { token: tokenA }), [400, 401], 'no "/"');
    expectError(await publish(pub, `/${nsA}`, { n: 1 }, { token: tokenA }), [400, 401, 403], 'leading "/"');
    expectError(await publish(pub, `${nsA}/`, { n: 1 }, { token: tokenA }), [400, 401, 403], 'empty rest');
    expect((await getEntity(pub, `${nsA}/`)).status).toBe(404);
  });

  it('the admin token is never a namespace token', async () => {
    expectError(await publish(pub, `${nsA}/by-admin`, { n: 1 }, { token: ADMIN }), 401);
    const batch = await request(pub, 'POST', '/api/events/batch', { json: { events: [envelope(`${nsA}/by-admin`, { n: 1 })] }, token: ADMIN });
    expectError(batch, 401, 'batch with the admin token');
  });

  it('batch: missing or unknown token fails the whole batch with 401', async () => {
    const events = [envelope(`${nsA}/batch-noauth`, { n: 1 })];
    expectError(await request(pub, 'POST', '/api/events/batch', { json: { events } }), 401, 'missing');
    expectError(await request(pub, 'POST', '/api/events/batch', { json: { events }, token: 'unknown' }), 401, 'unknown');
    expect((await getEntity(pub, `${nsA}/batch-noauth`)).status).toBe(404);
  });

  it('batch: each element is authorised on its own, results in input order', async () => {
    const events = [
      envelope(`${nsA}/mix-1`, { n: 1 }),
      envelope(`${nsB}/mix-2`, { n: 2 }),
      envelope('no-namespace', { n: 3 }),
      envelope(`${nsA}/mix-4/deep`, { n: 4 }),
      envelope(`${unique('ghost')}/mix-5`, { n: 5 }),
    ];
    const response = await request(pub, 'POST', '/api/events/batch', { json: { events }, token: tokenA });
    expectStatus(response, 200);
    const body = response.body as Json;
    expect(body.successful).toBe(2);
    expect(body.failed).toBe(3);
    expect(body.results).toHaveLength(5);
    expect(body.results[0]).toEqual({ eventId: expect.any(String), stream: 'contract.tests', ...POSITION_FIELDS });
    expect(typeof body.results[1].error).toBe('string');
    expect(typeof body.results[2].error).toBe('string');
    expect(body.results[3]).toEqual({ eventId: expect.any(String), stream: 'contract.tests', ...POSITION_FIELDS });
    expect(typeof body.results[4].error).toBe('string');
    await waitForEntity(pub, `${nsA}/mix-1`);
    await waitForEntity(pub, `${nsA}/mix-4/deep`);
    expect((await getEntity(pub, `${nsB}/mix-2`)).status).toBe(404);
  });

  it('reads stay open: entities, list, history and the WebSocket need no token', async () => {
    const id = `${nsA}/readable`;
    await publishOk(pub, id, { visible: true }, { token: tokenA });
    await waitForEntity(pub, id);
    expectStatus(await get(pub, `/api/state/entities/${encodeURIComponent(id)}`), 200);
    expectStatus(await get(pub, `/api/state/entities?namespace=${nsA}`), 200);
    const history = await get(pub, `/api/events?entity=${encodeURIComponent(id)}`);
    expectStatus(history, 200);
    expect(history.body).toHaveLength(1);
    const ws = await WsClient.connect(pub.wsUrl);
    try {
      await publishOk(pub, id, { visible: 'again' }, { token: tokenA });
      await ws.waitFor(isStateUpdate(id, 'visible'));
    } finally {
      await ws.close();
    }
  });

  it('a garbage token on a read is ignored (reads are open)', async () => {
    expectStatus(await get(pub, '/api/state/entities?limit=1', { token: 'garbage' }), 200);
  });

  it('deletes are namespace-scoped too', async () => {
    const id = `${nsB}/protected`;
    await publishOk(pub, id, { n: 1 }, { token: tokenB });
    await waitForEntity(pub, id);
    expectError(await request(pub, 'DELETE', `/api/state/entities/${encodeURIComponent(id)}`), 401);
    expectError(await request(pub, 'DELETE', `/api/state/entities/${encodeURIComponent(id)}`, { token: tokenA }), 403);
    expectStatus(await request(pub, 'DELETE', `/api/state/entities/${encodeURIComponent(id)}`, { token: tokenB }), 200);
    await waitForGone(pub, id);
  });

  it('GET /api/admin/config is readable; PUT needs the admin token', async () => {
    expectStatus(await get(pub, '/api/admin/config'), 200);
    expectError(await request(pub, 'PUT', '/api/admin/config', { json: { rate_limit_enabled: true } }), 401);
    expectError(await request(pub, 'PUT', '/api/admin/config', { json: { rate_limit_enabled: true }, token: tokenA }), 401);
    expectStatus(await request(pub, 'PUT', '/api/admin/config', { json: { rate_limit_enabled: true }, token: ADMIN }), 200);
  });
});

describe('public mode without FLUX_ADMIN_TOKEN: admin operations are refused, never open', () => {
  it('warns at start-up', () => {
    expect(noAdmin.output(), 'start-up output should warn that FLUX_ADMIN_TOKEN is not set').toMatch(/FLUX_ADMIN_TOKEN|admin[ _-]?token/i);
  });

  it('POST /api/namespaces is 403 (with or without a bearer token)', async () => {
    expectError(await post(noAdmin, '/api/namespaces', { name: unique('open') }), 403);
    expectError(await post(noAdmin, '/api/namespaces', { name: unique('open') }, { token: 'anything' }), 403);
  });

  it('DELETE /api/namespaces/:name is 403', async () => {
    expectError(await request(noAdmin, 'DELETE', `/api/namespaces/${unique('any')}`), 403);
  });

  it('PUT /api/admin/config is 403 and changes nothing', async () => {
    const before = await get(noAdmin, '/api/admin/config');
    expectStatus(before, 200);
    expectError(await request(noAdmin, 'PUT', '/api/admin/config', { json: { rate_limit_per_namespace_per_minute: 1 } }), 403);
    expectError(await request(noAdmin, 'PUT', '/api/admin/config', { json: { rate_limit_per_namespace_per_minute: 1 }, token: 'x' }), 403);
    expect((await get(noAdmin, '/api/admin/config')).body).toEqual(before.body);
  });

  it('writes still need a namespace token (401)', async () => {
    expectError(await publish(noAdmin, 'someone/thing', { n: 1 }), 401);
  });
});

describe('internal mode', () => {
  it('needs no token and accepts ids without a namespace', async () => {
    const id = unique('int-plain');
    expectStatus(await publish(internal, id, { n: 1 }), 200);
    await waitForEntity(internal, id);
    expectStatus(await request(internal, 'DELETE', `/api/state/entities/${encodeURIComponent(id)}`), 200);
  });

  it('ignores an Authorization header it has no use for', async () => {
    const id = `${unique('int-auth')}/x`;
    expectStatus(await publish(internal, id, { n: 1 }, { token: 'whatever' }), 200);
    await waitForEntity(internal, id);
  });

  it('namespace registration and deletion are not available (404 JSON)', async () => {
    expectError(await post(internal, '/api/namespaces', { name: unique('intns') }), 404, 'POST /api/namespaces');
    expectError(await request(internal, 'DELETE', `/api/namespaces/${unique('intns')}`), 404, 'DELETE /api/namespaces/:name');
  });

  it('admin operations are open without FLUX_ADMIN_TOKEN: PUT /api/admin/config', async () => {
    const response = await request(internal, 'PUT', '/api/admin/config', { json: { rate_limit_per_namespace_per_minute: 12_345 } });
    expectStatus(response, 200);
    expect(response.body.rate_limit_per_namespace_per_minute).toBe(12_345);
  });
});
