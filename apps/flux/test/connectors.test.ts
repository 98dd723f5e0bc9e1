/** Contract section 9: connectors (GitHub), against a fake GitHub API. */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicEnv, startDeployment, STARTUP_TIMEOUT_MS, TEST_ENCRYPTION_KEY, type Deployment } from './support/deployment.js';
import { ISO_UTC, get, listEntities, post, registerNamespace, request, unique, waitFor, type Json } from './support/client.js';
import { expectError, expectStatus } from './support/expect.js';
import { startFakeGitHub, type FakeGitHub } from './support/fake-github.js';

const ADMIN = 'connectors-admin-token-0123456789';
const STATUSES = ['configured', 'not_configured', 'error'];
let github: FakeGitHub;
let flux: Deployment; // internal, with an encryption key
let noKey: Deployment; // internal, without an encryption key
let pub: Deployment; // public, with an encryption key

beforeAll(async () => {
  github = await startFakeGitHub();
  const connectorEnv = { FLUX_GITHUB_API_URL: github.url, FLUX_GITHUB_POLL_INTERVAL_SECONDS: '3600' };
  [flux, noKey, pub] = await Promise.all([
    startDeployment({ env: { ...connectorEnv, FLUX_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } }),
    startDeployment({ env: connectorEnv }),
    startDeployment({ env: publicEnv(ADMIN, { ...connectorEnv, FLUX_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY }) }),
  ]);
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([flux?.dispose(), noKey?.dispose(), pub?.dispose()]);
  await github?.close();
});

async function connectorList(target: Deployment, token?: string): Promise<Json[]> {
  const response = await get(target, '/api/connectors', token === undefined ? {} : { token });
  expectStatus(response, 200, 'GET /api/connectors');
  expect(Object.keys(response.body)).toEqual(['connectors']);
  expect(Array.isArray(response.body.connectors)).toBe(true);
  return response.body.connectors as Json[];
}

async function githubStatus(target: Deployment, token?: string): Promise<Json> {
  const response = await get(target, '/api/connectors/github', token === undefined ? {} : { token });
  expectStatus(response, 200, 'GET /api/connectors/github');
  return response.body;
}

const storeToken = (target: Deployment, pat: unknown, token?: string, connector = 'github') =>
  request(target, 'POST', `/api/connectors/${connector}/token`, { json: { token: pat }, ...(token === undefined ? {} : { token }) });

const deleteToken = (target: Deployment, token?: string, connector = 'github') =>
  request(target, 'DELETE', `/api/connectors/${connector}/token`, token === undefined ? {} : { token });

/** Waits until the entities (optionally under a prefix) contain every marker of the fake GitHub. */
async function waitForPublishedMarkers(target: Deployment, prefix?: string): Promise<Json[]> {
  const wanted = [github.markers.repo, github.markers.issue, github.markers.notification];
  return await waitFor(
    async () => {
      const entities = await listEntities(target, prefix === undefined ? {} : { prefix });
      const text = JSON.stringify(entities);
      return wanted.every((marker) => text.includes(marker)) ? entities : undefined;
    },
    {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: `entities${prefix === undefined ? '' : ` under ${prefix}`} with the repository, issue and notification markers ${JSON.stringify(wanted)}`,
    },
  );
}

/** True when any file under `dir` contains `needle` (streamed; files may be large/sparse). */
async function directoryContains(dir: string, needle: string): Promise<string | undefined> {
  const bytes = Buffer.from(needle, 'utf8');
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const size = (await stat(path)).size;
    const handle = await open(path, 'r');
    try {
      const chunk = Buffer.alloc(4 * 1024 * 1024);
      let carry = Buffer.alloc(0);
      for (let position = 0; position < size;) {
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
        if (bytesRead === 0) break;
        const window = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
        if (window.includes(bytes)) return path;
        carry = window.subarray(Math.max(0, window.length - bytes.length + 1));
        position += bytesRead;
      }
    } finally {
      await handle.close();
    }
  }
  return undefined;
}

describe('connectors (internal mode, encryption key set)', () => {
  it('GET /api/connectors lists {name, enabled, status}; github starts not_configured', async () => {
    const connectors = await connectorList(flux);
    expect(connectors.length).toBeGreaterThanOrEqual(1);
    for (const connector of connectors) {
      expect(Object.keys(connector).sort()).toEqual(['enabled', 'name', 'status']);
      expect(typeof connector.name).toBe('string');
      expect(typeof connector.enabled).toBe('boolean');
      expect(STATUSES).toContain(connector.status);
    }
    const gh = connectors.find((connector) => connector.name === 'github');
    expect(gh, 'github connector listed').toBeDefined();
    expect(gh.status).toBe('not_configured');
  });

  it('GET /api/connectors/github adds poll_interval_seconds, last_poll and last_error', async () => {
    const detail = await githubStatus(flux);
    expect(Object.keys(detail).sort()).toEqual(['enabled', 'last_error', 'last_poll', 'name', 'poll_interval_seconds', 'status']);
    expect(detail).toMatchObject({ name: 'github', status: 'not_configured', poll_interval_seconds: 3600, last_poll: null, last_error: null });
  });

  it('GET of an unknown connector is 404', async () => {
    expectError(await get(flux, '/api/connectors/gitlab-nope'), 404);
  });

  it('DELETE of a token that is not stored is 404', async () => {
    expectError(await deleteToken(flux), 404);
  });

  it.each([
    ['token missing', {}],
    ['token not a string', { token: 123 }],
    ['token empty', { token: '' }],
  ])('POST token with %s is 400', async (_label, body) => {
    expectError(await request(flux, 'POST', '/api/connectors/github/token', { json: body }), 400);
    expect((await githubStatus(flux)).status).toBe('not_configured');
  });

  it('POST token for an unknown connector is 404', async () => {
    expectError(await storeToken(flux, 'ghp_whatever', undefined, 'nope-connector'), 404);
  });

  it('a failing poll (GitHub answers 401) gives status error with last_error', async () => {
    const bad = `ghp_bad_${unique('t')}`;
    const stored = await storeToken(flux, bad);
    expectStatus(stored, 200);
    expect(stored.body).toEqual({ success: true });
    await waitFor(() => github.requests.some((seen) => github.tokenOf(seen) === bad), { timeoutMs: 10_000, what: 'a poll with the bad token' });
    const detail = await waitFor(
      async () => {
        const value = await githubStatus(flux);
        return value.status === 'error' ? value : undefined;
      },
      { timeoutMs: 10_000, what: 'status error' },
    );
    expect(typeof detail.last_error).toBe('string');
    expect(detail.last_error.length).toBeGreaterThan(0);
    expect(detail.last_poll === null || ISO_UTC.test(detail.last_poll)).toBe(true);
    expect((await connectorList(flux)).find((connector) => connector.name === 'github')?.status).toBe('error');
    const removed = await deleteToken(flux);
    expectStatus(removed, 200);
    expect(removed.body).toEqual({ success: true });
    expect((await githubStatus(flux)).status).toBe('not_configured');
  });

  it('storing a token enables the connector, starts a poll within seconds and publishes repositories, issues and notifications', async () => {
    const pat = `ghp_good_${unique('t')}`;
    github.goodTokens.add(pat);
    const before = Date.now();
    const stored = await storeToken(flux, pat);
    expectStatus(stored, 200);
    expect(stored.body).toEqual({ success: true });
    const poll = await waitFor(() => github.requests.find((seen) => github.tokenOf(seen) === pat), {
      timeoutMs: 10_000,
      what: 'a GitHub request carrying the stored token',
    });
    expect(poll.at - before).toBeLessThan(10_000);
    await waitForPublishedMarkers(flux);
    const detail = await waitFor(
      async () => {
        const value = await githubStatus(flux);
        return value.status === 'configured' && value.last_poll !== null ? value : undefined;
      },
      { timeoutMs: 10_000, what: 'status configured with last_poll' },
    );
    expect(detail.enabled).toBe(true);
    expect(detail.last_poll).toMatch(ISO_UTC);
    expect(detail.last_error).toBeNull();
    const listed = (await connectorList(flux)).find((connector) => connector.name === 'github');
    expect(listed).toEqual({ name: 'github', enabled: true, status: 'configured' });
  });

  it('stores the credential encrypted: the token never appears in the data directory', async () => {
    const pat = `ghp_plaintext_probe_${unique('t')}`;
    github.goodTokens.add(pat);
    expectStatus(await storeToken(flux, pat), 200);
    await waitFor(() => github.requests.some((seen) => github.tokenOf(seen) === pat), { timeoutMs: 10_000, what: 'a poll with the probe token' });
    const found = await directoryContains(flux.dataDir, pat);
    expect(found, `the plaintext token was found in ${found}`).toBeUndefined();
  });

  it('DELETE token: 200 {success: true}, then not_configured, then 404', async () => {
    const removed = await deleteToken(flux, undefined);
    expectStatus(removed, 200);
    expect(removed.body).toEqual({ success: true });
    expect((await githubStatus(flux)).status).toBe('not_configured');
    expectError(await deleteToken(flux), 404);
  });
});

describe('connectors without FLUX_ENCRYPTION_KEY', () => {
  it('POST token is 500 with a clear message, and nothing is stored', async () => {
    const message = expectError(await storeToken(noKey, 'ghp_nokey'), 500);
    expect(message).toMatch(/encrypt|FLUX_ENCRYPTION_KEY/i);
    expect((await githubStatus(noKey)).status).toBe('not_configured');
    expectError(await deleteToken(noKey), 404);
  });

  it('listing still works', async () => {
    expect((await connectorList(noKey)).some((connector) => connector.name === 'github')).toBe(true);
  });
});

describe('connectors in public mode', () => {
  let nsA: { name: string; token: string };
  let nsB: { name: string; token: string };

  beforeAll(async () => {
    nsA = await registerNamespace(pub, unique('cona'), ADMIN);
    nsB = await registerNamespace(pub, unique('conb'), ADMIN);
  });

  it('the connector endpoints need a namespace token (401 without, with an unknown one, or with the admin token)', async () => {
    expectError(await get(pub, '/api/connectors'), 401, 'GET list without token');
    expectError(await get(pub, '/api/connectors/github'), 401, 'GET github without token');
    expectError(await storeToken(pub, 'ghp_x'), 401, 'POST without token');
    expectError(await storeToken(pub, 'ghp_x', 'unknown-token'), 401, 'POST with an unknown token');
    expectError(await storeToken(pub, 'ghp_x', ADMIN), 401, 'POST with the admin token');
    expectError(await deleteToken(pub), 401, 'DELETE without token');
    expect((await connectorList(pub, nsA.token)).find((connector) => connector.name === 'github')?.status).toBe('not_configured');
  });

  it('credentials belong to the token namespace and the connector publishes into it', async () => {
    const pat = `ghp_pub_${unique('t')}`;
    github.goodTokens.add(pat);
    const stored = await storeToken(pub, pat, nsA.token);
    expectStatus(stored, 200);
    expect(stored.body).toEqual({ success: true });
    await waitFor(() => github.requests.some((seen) => github.tokenOf(seen) === pat), {
      timeoutMs: 10_000,
      what: 'a poll with the namespace credential',
    });
    const entities = await waitForPublishedMarkers(pub, `${nsA.name}/`);
    expect(entities.every((entity) => String(entity.id).startsWith(`${nsA.name}/`))).toBe(true);
    await waitFor(async () => (await githubStatus(pub, nsA.token)).status === 'configured', { timeoutMs: 10_000, what: 'namespace A configured' });
    // Another namespace has no credential.
    expect((await githubStatus(pub, nsB.token)).status).toBe('not_configured');
    expectError(await deleteToken(pub, nsB.token), 404, 'namespace B has nothing stored');
    // Nothing was published outside namespace A.
    const all = await listEntities(pub);
    const outside = all.filter((entity) => !String(entity.id).startsWith(`${nsA.name}/`) && !String(entity.id).startsWith('flux-core/'));
    expect(JSON.stringify(outside)).not.toContain(github.markers.repo);
  });

  it('namespace A can remove its credential', async () => {
    const removed = await deleteToken(pub, nsA.token);
    expectStatus(removed, 200);
    expect(removed.body).toEqual({ success: true });
    expect((await githubStatus(pub, nsA.token)).status).toBe('not_configured');
    expectError(await deleteToken(pub, nsA.token), 404);
  });

  it('POST token needs no admin token, only the namespace token', async () => {
    const pat = `ghp_pub2_${unique('t')}`;
    github.goodTokens.add(pat);
    expectStatus(await storeToken(pub, pat, nsB.token), 200);
    expectStatus(await post(pub, '/api/connectors/github/token', { token: pat }, { token: nsB.token }), 200, 'storing again replaces it');
    expectStatus(await deleteToken(pub, nsB.token), 200);
  });
});
