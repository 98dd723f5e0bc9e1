/**
 * Restarts (graceful and crash) keep everything: entities and versions, deletions, history,
 * namespaces and tokens, runtime config and connector credentials (sections 2, 7, 8, 9, 12).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicEnv, startDeployment, STARTUP_TIMEOUT_MS, TEST_ENCRYPTION_KEY, type Deployment } from './support/deployment.js';
import {
  get,
  getEntity,
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
import { expectError, expectStatus } from './support/expect.js';
import { startFakeGitHub, type FakeGitHub } from './support/fake-github.js';

const ADMIN = 'restart-admin-token-0123456789abc';
let github: FakeGitHub;
let flux: Deployment;
let internal: Deployment;

beforeAll(async () => {
  github = await startFakeGitHub();
  [flux, internal] = await Promise.all([
    startDeployment({
      env: publicEnv(ADMIN, { FLUX_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, FLUX_GITHUB_API_URL: github.url, FLUX_GITHUB_POLL_INTERVAL_SECONDS: '3600' }),
    }),
    startDeployment(),
  ]);
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([flux?.dispose(), internal?.dispose()]);
  await github?.close();
});

describe('a graceful restart (SIGTERM) keeps everything', () => {
  const kept = { ns: '', token: '', namespaceId: '', createdAt: '', gone: '', goneToken: '', pat: '' };
  let config: Json;
  let historyBefore: Json[];

  beforeAll(async () => {
    const ns = await registerNamespace(flux, unique('keep'), ADMIN);
    kept.ns = ns.name;
    kept.token = ns.token;
    kept.namespaceId = ns.namespaceId;
    kept.createdAt = (await get(flux, `/api/namespaces/${ns.name}`)).body.createdAt;
    const gone = await registerNamespace(flux, unique('gone'), ADMIN);
    kept.gone = gone.name;
    kept.goneToken = gone.token;
    expectStatus(await request(flux, 'DELETE', `/api/namespaces/${gone.name}`, { token: ADMIN }), 204);

    for (let n = 1; n <= 3; n += 1) await publishOk(flux, `${ns.name}/kept`, { n, [`p${n}`]: true }, { token: ns.token });
    await publishOk(flux, `${ns.name}/kept`, { p2: null }, { token: ns.token });
    await publishOk(flux, `${ns.name}/deleted`, { doomed: true }, { token: ns.token });
    await publishOk(flux, `${ns.name}/other`, { x: 1 }, { token: ns.token });
    await waitForEntity(flux, `${ns.name}/kept`, (entity) => entity.version === 4);
    await waitForEntity(flux, `${ns.name}/deleted`);
    await waitForEntity(flux, `${ns.name}/other`);
    expectStatus(await request(flux, 'DELETE', `/api/state/entities/${encodeURIComponent(`${ns.name}/deleted`)}`, { token: ns.token }), 200);
    await waitForGone(flux, `${ns.name}/deleted`);
    historyBefore = (await get(flux, `/api/events?entity=${encodeURIComponent(`${ns.name}/kept`)}`)).body as Json[];
    expect(historyBefore).toHaveLength(4);

    const put = await request(flux, 'PUT', '/api/admin/config', {
      json: { rate_limit_per_namespace_per_minute: 777, body_size_limit_single_bytes: 5_000, body_size_limit_batch_bytes: 9_000_000 },
      token: ADMIN,
    });
    expectStatus(put, 200);
    config = put.body;

    kept.pat = `ghp_restart_${unique('t')}`;
    github.goodTokens.add(kept.pat);
    expectStatus(await request(flux, 'POST', '/api/connectors/github/token', { json: { token: kept.pat }, token: ns.token }), 200);
    await waitFor(async () => (await get(flux, '/api/connectors/github', { token: ns.token })).body?.status === 'configured', {
      timeoutMs: 15_000,
      what: 'connector configured',
    });

    await flux.restart();
  }, STARTUP_TIMEOUT_MS + 60_000);

  it('entities, properties and versions are unchanged, and events are not re-applied', async () => {
    const entity = await waitForEntity(flux, `${kept.ns}/kept`);
    expect(entity.version).toBe(4);
    expect(entity.properties).toEqual({ n: 3, p1: true, p3: true });
    expect((await getEntity(flux, `${kept.ns}/other`)).body.version).toBe(1);
    await publishOk(flux, `${kept.ns}/kept`, { n: 4 }, { token: kept.token });
    const next = await waitForEntity(flux, `${kept.ns}/kept`, (value) => value.version >= 5);
    expect(next.version).toBe(5);
  });

  it('deleted entities stay deleted', async () => {
    expectError(await getEntity(flux, `${kept.ns}/deleted`), 404);
  });

  it('history is kept', async () => {
    const history = (await get(flux, `/api/events?entity=${encodeURIComponent(`${kept.ns}/kept`)}`)).body as Json[];
    expect(history.slice(-4)).toEqual(historyBefore);
  });

  it('namespaces and tokens survive; a deleted namespace stays deleted', async () => {
    const info = await get(flux, `/api/namespaces/${kept.ns}`);
    expectStatus(info, 200);
    expect(info.body).toMatchObject({ namespaceId: kept.namespaceId, name: kept.ns, createdAt: kept.createdAt });
    // The GitHub connector stored below may publish into the namespace too: the count must
    // match the namespace's real entities, which include the two kept ones.
    await waitFor(
      async () => {
        const count = (await get(flux, `/api/namespaces/${kept.ns}`)).body?.entityCount;
        const listed = (await get(flux, `/api/state/entities?namespace=${kept.ns}`)).body as Json[];
        return count === listed.length && listed.some((e) => e.id === `${kept.ns}/kept`) && listed.some((e) => e.id === `${kept.ns}/other`);
      },
      { what: 'entityCount equal to the namespace’s entities after restart' },
    );
    expectStatus(await publish(flux, `${kept.ns}/after-restart`, { ok: true }, { token: kept.token }), 200);
    expectError(await publish(flux, `${kept.gone}/x`, { n: 1 }, { token: kept.goneToken }), 401, 'token of the deleted namespace');
    expectError(await get(flux, `/api/namespaces/${kept.gone}`), 404);
    expectError(await request(flux, 'POST', '/api/namespaces', { json: { name: kept.ns }, token: ADMIN }), 409, 'name still taken');
  });

  it('runtime config survives and is enforced', async () => {
    const response = await get(flux, '/api/admin/config');
    expectStatus(response, 200);
    expect(response.body).toEqual(config);
    const big = await request(flux, 'POST', '/api/events', {
      raw: JSON.stringify({
        stream: 's',
        source: 'x',
        timestamp: Date.now(),
        payload: { entity_id: `${kept.ns}/big`, properties: { pad: 'z'.repeat(6_000) } },
      }),
      headers: { 'content-type': 'application/json' },
      token: kept.token,
    });
    expectError(big, 413, 'single limit of 5000 after restart');
  });

  it('connector credentials survive (still configured, still usable, deletable)', async () => {
    const status = await get(flux, '/api/connectors/github', { token: kept.token });
    expectStatus(status, 200);
    expect(status.body.status, `status after restart: ${JSON.stringify(status.body)}`).toBe('configured');
    const removed = await request(flux, 'DELETE', '/api/connectors/github/token', { token: kept.token });
    expectStatus(removed, 200, 'the credential was still stored');
  });

  it('the admin token still works after restart', async () => {
    expectStatus(await request(flux, 'PUT', '/api/admin/config', { json: {}, token: ADMIN }), 200);
  });
});

describe('a crash (SIGKILL) loses no acknowledged event and applies none twice', () => {
  it(
    'sequential writes acknowledged right before the kill are all applied exactly once',
    async () => {
      const id = `${unique('crash-seq')}/counter`;
      const count = 40;
      for (let n = 1; n <= count; n += 1) await publishOk(internal, id, { n });
      await internal.restart({ signal: 'SIGKILL' });
      const entity = await waitForEntity(internal, id, (value) => value.version >= count, { timeoutMs: 20_000 });
      expect(entity.version).toBe(count);
      expect(entity.properties).toEqual({ n: count });
      await publishOk(internal, id, { n: count + 1 });
      expect((await waitForEntity(internal, id, (value) => value.version > count)).version).toBe(count + 1);
    },
    STARTUP_TIMEOUT_MS + 30_000,
  );

  it(
    'a kill in the middle of concurrent traffic: every acknowledged event is applied, version equals the stored history',
    async () => {
      const id = `${unique('crash-mid')}/counter`;
      let acknowledged = 0;
      let refused = 0;
      let stop = false;
      const writers = Array.from({ length: 4 }, async (_, writer) => {
        for (let n = 0; !stop && n < 100; n += 1) {
          try {
            const response = await publish(internal, id, { [`w${writer}`]: n }, { timestamp: Date.now() });
            if (response.status === 200) acknowledged += 1;
            else refused += 1;
          } catch {
            refused += 1;
          }
        }
      });
      await waitFor(() => acknowledged >= 100, { timeoutMs: 20_000, what: '100 acknowledged writes' });
      const killed = internal.stop('SIGKILL');
      await killed;
      stop = true;
      await Promise.all(writers);
      await internal.restart();
      const entity = await waitForEntity(internal, id, (value) => value.version >= acknowledged, { timeoutMs: 20_000 });
      const history = await get(internal, `/api/events?entity=${encodeURIComponent(id)}&limit=500&since=2000-01-01T00:00:00Z`);
      expectStatus(history, 200);
      const stored = (history.body as Json[]).length;
      expect(entity.version, `acknowledged ${acknowledged}, refused/failed ${refused}, stored ${stored}`).toBeGreaterThanOrEqual(acknowledged);
      // Let the reducer settle, then version must equal the number of stored events (none applied twice).
      await waitFor(async () => (await getEntity(internal, id)).body?.version === stored, { timeoutMs: 10_000, what: `version ${stored}` });
      expect(new Set((history.body as Json[]).map((event) => event.eventId)).size).toBe(stored);
    },
    STARTUP_TIMEOUT_MS + 60_000,
  );

  it(
    'a restart on a new port serves the same data',
    async () => {
      const id = unique('crash-port');
      await publishOk(internal, id, { n: 1 });
      await waitForEntity(internal, id);
      const oldPort = internal.port;
      await internal.restart({ newPort: true, signal: 'SIGKILL' });
      expect(internal.port).not.toBe(oldPort);
      expect((await waitForEntity(internal, id)).version).toBe(1);
    },
    STARTUP_TIMEOUT_MS + 30_000,
  );
});
