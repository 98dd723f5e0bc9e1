/** GitHub connector OAuth (authorization code + PKCE), against the fake GitHub's OAuth endpoints. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicEnv, startDeployment, STARTUP_TIMEOUT_MS, TEST_ENCRYPTION_KEY, type Deployment } from './support/deployment.js';
import { get, registerNamespace, request, unique, waitFor, type ApiResponse } from './support/client.js';
import { expectError, expectStatus } from './support/expect.js';
import { FAKE_OAUTH_CLIENT, startFakeGitHub, type FakeGitHub } from './support/fake-github.js';

const ADMIN = 'oauth-admin-token-0123456789abcdef';
/** GitHub redirects the browser here; the test sends the redirect's path and query to the deployment. */
const REDIRECT_URL = 'http://flux.invalid/api/connectors/github/oauth/callback';
const START = '/api/connectors/github/oauth/start';
const CALLBACK = '/api/connectors/github/oauth/callback';
let github: FakeGitHub;
let flux: Deployment; // internal, OAuth configured
let pub: Deployment; // public, OAuth configured
let plain: Deployment; // OAuth not configured

beforeAll(async () => {
  github = await startFakeGitHub();
  const connectorEnv = { FLUX_GITHUB_API_URL: github.url, FLUX_GITHUB_POLL_INTERVAL_SECONDS: '3600', FLUX_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY };
  const oauthEnv = {
    ...connectorEnv,
    FLUX_GITHUB_OAUTH_CLIENT_ID: FAKE_OAUTH_CLIENT.id,
    FLUX_GITHUB_OAUTH_CLIENT_SECRET: FAKE_OAUTH_CLIENT.secret,
    FLUX_GITHUB_OAUTH_REDIRECT_URL: REDIRECT_URL,
    FLUX_GITHUB_OAUTH_AUTHORIZE_URL: `${github.url}/login/oauth/authorize`,
    FLUX_GITHUB_OAUTH_TOKEN_URL: `${github.url}/login/oauth/access_token`,
  };
  // One after the other: three clusters starting at once (18 processes) is where a cluster run
  // once answered from a process without these routes.
  flux = await startDeployment({ env: oauthEnv });
  pub = await startDeployment({ env: publicEnv(ADMIN, oauthEnv) });
  plain = await startDeployment({ env: connectorEnv });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([flux?.dispose(), pub?.dispose(), plain?.dispose()]);
  await github?.close();
});

/** One redirect step, not followed. */
async function redirectOf(url: string, token?: string): Promise<URL> {
  const response = await fetch(url, {
    redirect: 'manual',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  const body = await response.text();
  expect(response.status, `${url} answered ${response.status} ${body}`).toBe(302);
  return new URL(response.headers.get('location') ?? '');
}

/** Start on Flux, then the fake's authorize page: the URL GitHub sends the browser back to. */
async function authorize(target: Deployment, token?: string, rewrite: (authorizeUrl: URL) => void = () => undefined): Promise<URL> {
  const authorizeUrl = await redirectOf(`${target.baseUrl}${START}`, token);
  expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(`${github.url}/login/oauth/authorize`);
  rewrite(authorizeUrl);
  const back = await redirectOf(authorizeUrl.toString());
  expect(back.origin + back.pathname).toBe(REDIRECT_URL);
  return back;
}

const callback = (target: Deployment, query: string, json = true): Promise<ApiResponse> =>
  request(target, 'GET', `${CALLBACK}${query}`, json ? { headers: { accept: 'application/json' } } : {});

async function githubStatus(target: Deployment, token?: string): Promise<string> {
  const response = await get(target, '/api/connectors/github', token === undefined ? {} : { token });
  expectStatus(response, 200);
  return response.body.status as string;
}

describe('GitHub OAuth (internal mode)', () => {
  it('start answers a 302 to the authorize URL with state and an S256 challenge, or JSON when asked', async () => {
    const url = await redirectOf(`${flux.baseUrl}${START}`);
    expect(url.searchParams.get('client_id')).toBe(FAKE_OAUTH_CLIENT.id);
    expect(url.searchParams.get('redirect_uri')).toBe(REDIRECT_URL);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const json = await get(flux, START, { headers: { accept: 'application/json' } });
    expectStatus(json, 200);
    expect(Object.keys(json.body)).toEqual(['authorize_url']);
    const second = new URL(json.body.authorize_url as string);
    expect(second.searchParams.get('state')).not.toBe(url.searchParams.get('state'));
  });

  it('the full flow stores the token: the connector is configured and polls GitHub with it', async () => {
    const back = await authorize(flux);
    const done = await callback(flux, back.search, false);
    expectStatus(done, 200);
    expect(done.headers.get('content-type')).toMatch(/text\/html/);
    const token = github.issuedTokens.at(-1)!;
    expect(token).toBeDefined();
    expect(done.text).not.toContain(token);
    await waitFor(() => github.requests.some((seen) => github.tokenOf(seen) === token && !seen.path.startsWith('/login/')), {
      timeoutMs: 10_000,
      what: 'a GitHub API request carrying the OAuth token',
    });
    await waitFor(async () => (await githubStatus(flux)) === 'configured', { timeoutMs: 10_000, what: 'github configured' });
  });

  it('a reused state is refused with FLUX_OAUTH_STATE_INVALID', async () => {
    const back = await authorize(flux);
    expectStatus(await callback(flux, back.search), 200);
    const reused = await callback(flux, back.search);
    expectError(reused, 400);
    expect(reused.body.code).toBe('FLUX_OAUTH_STATE_INVALID');
  });

  it.each([
    ['unknown', `?state=${'A'.repeat(32)}&code=abc`],
    ['malformed', '?state=not-a-state&code=abc'],
    ['far too long', `?state=${'A'.repeat(5000)}&code=abc`],
    ['missing', '?code=abc'],
  ])('an %s state is refused with FLUX_OAUTH_STATE_INVALID', async (_label, query) => {
    const response = await callback(flux, query);
    expectError(response, 400);
    expect(response.body.code).toBe('FLUX_OAUTH_STATE_INVALID');
  });

  it('a wrong PKCE verifier is refused by GitHub: 502 FLUX_OAUTH_EXCHANGE_FAILED, nothing stored', async () => {
    const before = github.issuedTokens.length;
    expectStatus(await request(flux, 'DELETE', '/api/connectors/github/token'), [200, 404]);
    // The browser reaches GitHub with another challenge than Flux made, as an attacker's link would.
    const back = await authorize(flux, undefined, (url) => url.searchParams.set('code_challenge', 'x'.repeat(43)));
    const response = await callback(flux, back.search);
    expectError(response, 502);
    expect(response.body.code).toBe('FLUX_OAUTH_EXCHANGE_FAILED');
    expect(github.tokenRefusals).toContain('invalid_code_verifier');
    expect(github.issuedTokens.length).toBe(before);
    expect(await githubStatus(flux)).toBe('not_configured');
  });

  it('an expiring token is refreshed before use: GitHub then sees the renewed token', async () => {
    github.expiresInSeconds = 1;
    try {
      const back = await authorize(flux);
      expectStatus(await callback(flux, back.search), 200);
      const first = github.issuedTokens.at(-1)!;
      // Expiring within the refresh margin, it is renewed before the first poll uses it.
      await waitFor(() => github.refreshes.length > 0, { timeoutMs: 10_000, what: 'a refresh_token grant' });
      const renewed = github.issuedTokens.at(-1)!;
      expect(renewed).not.toBe(first);
      await waitFor(() => github.requests.some((seen) => github.tokenOf(seen) === renewed && !seen.path.startsWith('/login/')), {
        timeoutMs: 10_000,
        what: 'a GitHub API request carrying the refreshed token',
      });
      expect(github.requests.some((seen) => github.tokenOf(seen) === first)).toBe(false);
      expect(await githubStatus(flux)).not.toBe('not_configured');
    } finally {
      github.expiresInSeconds = undefined;
    }
  });

  it('a provider refusal in the redirect (access_denied) is a 400', async () => {
    expectError(await callback(flux, `?error=access_denied&state=${'B'.repeat(32)}`), 400);
  });
});

describe('GitHub OAuth (public mode)', () => {
  it('start needs a namespace token; the resulting credential belongs to that namespace', async () => {
    const nsA = await registerNamespace(pub, unique('oauth-a'), ADMIN);
    const nsB = await registerNamespace(pub, unique('oauth-b'), ADMIN);
    expectError(await get(pub, START, { headers: { accept: 'application/json' } }), 401);
    expectError(await get(pub, START, { token: ADMIN, headers: { accept: 'application/json' } }), 401);
    const back = await authorize(pub, nsA.token);
    // The callback carries no token: the browser comes back from GitHub.
    expectStatus(await callback(pub, back.search), 200);
    await waitFor(async () => (await githubStatus(pub, nsA.token)) === 'configured', { timeoutMs: 10_000, what: 'namespace A configured' });
    expect(await githubStatus(pub, nsB.token)).toBe('not_configured');
  });
});

describe('GitHub OAuth not configured', () => {
  it('both routes answer 404 FLUX_OAUTH_NOT_CONFIGURED', async () => {
    for (const path of [START, `${CALLBACK}?state=${'A'.repeat(32)}&code=abc`]) {
      const response = await get(plain, path, { headers: { accept: 'application/json' } });
      expectError(response, 404, path);
      expect(response.body.code).toBe('FLUX_OAUTH_NOT_CONFIGURED');
      expect(response.body.error).toMatch(/FLUX_GITHUB_OAUTH_CLIENT_ID/);
    }
  });
});
