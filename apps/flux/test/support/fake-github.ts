/**
 * A fake GitHub REST API for connector tests (Flux is pointed at it with FLUX_GITHUB_API_URL).
 * Tokens in `goodTokens` are accepted; any other token gets GitHub's 401 "Bad credentials".
 * Every list contains unique markers so tests can find what Flux published.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

/** The OAuth app the fake knows (Flux is configured with it through FLUX_GITHUB_OAUTH_*). */
export const FAKE_OAUTH_CLIENT = { id: 'fake-oauth-client-id', secret: 'fake-oauth-client-secret-0123456789' } as const;

/** What the fake's /login/oauth/authorize received, for tests to check. */
interface IssuedCode {
  readonly challenge: string;
  readonly method: string;
  readonly clientId: string;
  readonly redirectUri: string;
}

export interface FakeGitHubRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly at: number;
}

export interface FakeGitHub {
  readonly url: string;
  readonly requests: FakeGitHubRequest[];
  /** Tokens accepted as valid (others get 401). */
  readonly goodTokens: Set<string>;
  readonly markers: { readonly repo: string; readonly issue: string; readonly notification: string };
  /** Access tokens issued by /login/oauth/access_token (each also added to goodTokens). */
  readonly issuedTokens: string[];
  /** Refusals of /login/oauth/access_token, as GitHub's `error` values. */
  readonly tokenRefusals: string[];
  /** Refresh tokens redeemed (grant_type=refresh_token), in order. */
  readonly refreshes: string[];
  /**
   * Set: tokens issued from now on expire after this many seconds and come with a refresh token
   * (GitHub Apps' expiring user tokens); a refresh retires the old access and refresh tokens.
   */
  expiresInSeconds: number | undefined;
  /** The token a request carried (`token X` or `Bearer X`), or undefined. */
  tokenOf(request: FakeGitHubRequest): string | undefined;
  close(): Promise<void>;
}

export async function startFakeGitHub(): Promise<FakeGitHub> {
  const tag = randomBytes(4).toString('hex');
  const markers = { repo: `contract-repo-${tag}`, issue: `Contract issue ${tag}`, notification: `Contract notification ${tag}` };
  const login = `contract-user-${tag}`;
  const requests: FakeGitHubRequest[] = [];
  const goodTokens = new Set<string>();
  const now = new Date().toISOString();

  const owner = { login, id: 4242, type: 'User', html_url: `https://github.com/${login}` };
  const repo = {
    id: 1001,
    node_id: 'R_1001',
    name: markers.repo,
    full_name: `${login}/${markers.repo}`,
    private: false,
    owner,
    html_url: `https://github.com/${login}/${markers.repo}`,
    description: `Repository ${markers.repo}`,
    fork: false,
    url: `https://api.github.com/repos/${login}/${markers.repo}`,
    created_at: now,
    updated_at: now,
    pushed_at: now,
    stargazers_count: 7,
    watchers_count: 7,
    forks_count: 1,
    open_issues_count: 1,
    language: 'TypeScript',
    default_branch: 'main',
    archived: false,
    visibility: 'public',
  };
  const issue = {
    id: 2002,
    node_id: 'I_2002',
    number: 17,
    title: markers.issue,
    state: 'open',
    user: owner,
    labels: [{ id: 1, name: 'bug', color: 'ff0000' }],
    assignees: [],
    comments: 2,
    html_url: `https://github.com/${login}/${markers.repo}/issues/17`,
    url: `https://api.github.com/repos/${login}/${markers.repo}/issues/17`,
    repository_url: `https://api.github.com/repos/${login}/${markers.repo}`,
    repository: repo,
    created_at: now,
    updated_at: now,
    body: 'Found by the contract suite',
  };
  const notification = {
    id: '3003',
    unread: true,
    reason: 'mention',
    updated_at: now,
    last_read_at: null,
    subject: { title: markers.notification, url: issue.url, latest_comment_url: null, type: 'Issue' },
    repository: repo,
    url: 'https://api.github.com/notifications/threads/3003',
  };

  const tokenOfHeader = (header: string | undefined): string | undefined => {
    const match = /^(?:token|bearer)\s+(.+)$/i.exec(header ?? '');
    return match?.[1]?.trim();
  };

  const send = (response: ServerResponse, status: number, body: unknown): void => {
    response.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-github-media-type': 'github.v3',
    });
    response.end(JSON.stringify(body));
  };

  const codes = new Map<string, IssuedCode>();
  const issuedTokens: string[] = [];
  const tokenRefusals: string[] = [];
  const refreshes: string[] = [];
  const refreshTokens = new Map<string, string>(); // refresh token → the access token it renews

  /** GitHub's authorize page, approved at once: back to redirect_uri with a code and the state. */
  const authorize = (url: URL, response: ServerResponse): void => {
    const params = url.searchParams;
    const redirectUri = params.get('redirect_uri') ?? '';
    if (params.get('client_id') !== FAKE_OAUTH_CLIENT.id || redirectUri === '')
      return send(response, 400, { message: 'unknown client or no redirect_uri' });
    const code = randomBytes(10).toString('hex');
    codes.set(code, {
      challenge: params.get('code_challenge') ?? '',
      method: params.get('code_challenge_method') ?? '',
      clientId: FAKE_OAUTH_CLIENT.id,
      redirectUri,
    });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    back.searchParams.set('state', params.get('state') ?? '');
    response.writeHead(302, { location: back.toString() });
    response.end();
  };

  /** GitHub's token endpoint: refusals are 200 with an `error` field, as GitHub answers them. */
  const accessToken = (form: URLSearchParams, response: ServerResponse): void => {
    const refuse = (error: string): void => {
      tokenRefusals.push(error);
      send(response, 200, { error, error_description: `fake GitHub refused: ${error}` });
    };
    if (form.get('client_id') !== FAKE_OAUTH_CLIENT.id || form.get('client_secret') !== FAKE_OAUTH_CLIENT.secret)
      return refuse('incorrect_client_credentials');
    const issue = (): void => {
      const token = `gho_${randomBytes(12).toString('hex')}`;
      issuedTokens.push(token);
      goodTokens.add(token);
      const expiresIn = fake.expiresInSeconds;
      if (expiresIn === undefined) return send(response, 200, { access_token: token, token_type: 'bearer', scope: 'repo,notifications' });
      const refreshToken = `ghr_${randomBytes(12).toString('hex')}`;
      refreshTokens.set(refreshToken, token);
      send(response, 200, {
        access_token: token,
        token_type: 'bearer',
        expires_in: expiresIn,
        refresh_token: refreshToken,
        refresh_token_expires_in: 15_897_600,
      });
    };
    if (form.get('grant_type') === 'refresh_token') {
      const refreshToken = form.get('refresh_token') ?? '';
      const renewed = refreshTokens.get(refreshToken);
      if (renewed === undefined) return refuse('bad_refresh_token');
      refreshTokens.delete(refreshToken);
      goodTokens.delete(renewed);
      refreshes.push(refreshToken);
      return issue();
    }
    const code = form.get('code') ?? '';
    const issued = codes.get(code);
    codes.delete(code);
    if (issued === undefined || issued.redirectUri !== form.get('redirect_uri')) return refuse('bad_verification_code');
    const verifier = form.get('code_verifier') ?? '';
    if (issued.method !== 'S256' || createHash('sha256').update(verifier).digest('base64url') !== issued.challenge)
      return refuse('invalid_code_verifier');
    issue();
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://fake-github');
    requests.push({ method: request.method ?? 'GET', path: url.pathname + url.search, authorization: request.headers.authorization, at: Date.now() });
    if (url.pathname === '/login/oauth/authorize') return authorize(url, response);
    if (url.pathname === '/login/oauth/access_token' && request.method === 'POST') {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => accessToken(new URLSearchParams(Buffer.concat(chunks).toString('utf8')), response));
      return;
    }
    request.resume();
    const token = tokenOfHeader(request.headers.authorization);
    if (token === undefined || !goodTokens.has(token)) {
      send(response, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
      return;
    }
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const segments = path.split('/').filter((segment) => segment.length > 0);
    if (path === '/user') return send(response, 200, owner);
    if (path === '/rate_limit') return send(response, 200, { resources: { core: { limit: 5000, remaining: 4999, reset: 0 } } });
    if (path === '/notifications' || path.startsWith('/notifications')) return send(response, 200, [notification]);
    if (path === '/search/issues') return send(response, 200, { total_count: 1, incomplete_results: false, items: [issue] });
    if (path === '/issues' || path === '/user/issues' || /\/issues$/.test(path)) return send(response, 200, [issue]);
    if (path === '/user/repos' || /^\/users\/[^/]+\/repos$/.test(path) || /^\/orgs\/[^/]+\/repos$/.test(path)) return send(response, 200, [repo]);
    if (segments[0] === 'repos' && segments.length === 3) return send(response, 200, repo);
    if (segments[0] === 'repos' && segments[3] === 'pulls') return send(response, 200, []);
    send(response, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  const fake: FakeGitHub = {
    url: `http://127.0.0.1:${port}`,
    requests,
    goodTokens,
    markers,
    issuedTokens,
    tokenRefusals,
    refreshes,
    expiresInSeconds: undefined,
    tokenOf: (request) => tokenOfHeader(request.authorization),
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
  return fake;
}
