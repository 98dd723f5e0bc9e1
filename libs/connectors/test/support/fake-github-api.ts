/**
 * A fake GitHub REST API over real HTTP for the connector suites: paginated listings with Link
 * headers, ETags and 304s, Last-Modified for notifications, 401 for unknown tokens, an optional
 * primary rate limit, injected failures and delays. Everything it received is in `requests`.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeIssue {
  number: number;
  title: string;
  state: 'open' | 'closed';
  author: string;
  created_at: string;
  updated_at: string;
  pull_request?: boolean;
}

export interface FakeRepo {
  owner: string;
  name: string;
  description: string | null;
  language: string | null;
  stars: number;
  forks: number;
  private: boolean;
  updated_at: string;
  issues: FakeIssue[];
}

export interface FakeNotification {
  id: string;
  reason: string;
  unread: boolean;
  updated_at: string;
  subject: { title: string; type: string; url: string | null };
}

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly pathname: string;
  readonly headers: IncomingMessage['headers'];
  readonly token: string | undefined;
  status: number;
  readonly at: number;
}

export interface RateLimitState {
  remaining: number;
  /** Epoch seconds. */
  reset: number;
}

export interface InjectedFailure {
  readonly path: RegExp;
  readonly status: number;
  /** How many requests fail (default: every one). */
  remaining?: number;
  readonly headers?: Record<string, string>;
}

const T0 = Date.parse('2024-05-01T10:00:00Z');
export const isoAt = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();

export class FakeGitHubApi {
  readonly requests: SeenRequest[] = [];
  readonly goodTokens = new Set<string>();
  repos: FakeRepo[] = [];
  notifications: FakeNotification[] = [];
  /** Largest per_page honoured (GitHub: 100). */
  maxPerPage = 100;
  rateLimit: RateLimitState | undefined;
  failures: InjectedFailure[] = [];
  /** Delay before answering requests whose path matches. */
  delays: { path: RegExp; ms: number }[] = [];
  url = '';
  // node:http ignores what a listener returns; handle() answers every request itself.
  private readonly server = createServer((request, response) => void this.handle(request, response));

  static async start(): Promise<FakeGitHubApi> {
    const api = new FakeGitHubApi();
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    api.url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    return api;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  /** Requests carrying `token` (optionally only those whose pathname matches). */
  requestsWith(token: string, pathname?: RegExp): SeenRequest[] {
    return this.requests.filter((seen) => seen.token === token && (pathname === undefined || pathname.test(seen.pathname)));
  }

  addRepo(owner: string, name: string, overrides: Partial<FakeRepo> = {}): FakeRepo {
    const repo: FakeRepo = {
      owner,
      name,
      description: `Repository ${name}`,
      language: 'TypeScript',
      stars: 3,
      forks: 1,
      private: false,
      updated_at: isoAt(0),
      issues: [],
      ...overrides,
    };
    this.repos.push(repo);
    return repo;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    request.resume();
    const url = new URL(request.url ?? '/', this.url);
    const token = /^(?:token|bearer)\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1]?.trim();
    const seen: SeenRequest = {
      method: request.method ?? 'GET',
      path: url.pathname + url.search,
      pathname: url.pathname,
      headers: request.headers,
      token,
      status: 0,
      at: Date.now(),
    };
    this.requests.push(seen);
    const delay = this.delays.find((candidate) => candidate.path.test(url.pathname));
    if (delay !== undefined) await new Promise((resolve) => setTimeout(resolve, delay.ms));
    if (response.destroyed) return;

    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      seen.status = status;
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...this.rateHeaders(), ...headers });
      response.end(status === 304 ? undefined : JSON.stringify(body));
    };

    if (token === undefined || !this.goodTokens.has(token)) {
      send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
      return;
    }
    const failure = this.failures.find((candidate) => candidate.path.test(url.pathname) && (candidate.remaining ?? 1) > 0);
    if (failure !== undefined) {
      if (failure.remaining !== undefined) failure.remaining--;
      send(failure.status, { message: `injected ${failure.status}` }, failure.headers ?? {});
      return;
    }
    if (this.rateLimit !== undefined) {
      if (this.rateLimit.remaining <= 0) {
        send(403, { message: 'API rate limit exceeded for user.' });
        return;
      }
    }

    const segments = url.pathname.split('/').filter((segment) => segment !== '');
    if (url.pathname === '/user/repos') {
      const items = this.repos.map((repo) => repoJson(repo));
      return this.sendPage(request, url, items, send);
    }
    if (segments[0] === 'repos' && segments.length === 4 && segments[3] === 'issues') {
      const repo = this.repos.find((candidate) => candidate.owner === segments[1] && candidate.name === segments[2]);
      if (repo === undefined) return send(404, { message: 'Not Found' });
      const state = url.searchParams.get('state') ?? 'open';
      const issues = repo.issues.filter((issue) => state === 'all' || issue.state === state).map((issue) => issueJson(repo, issue));
      return this.sendPage(request, url, issues, send);
    }
    if (url.pathname === '/notifications') {
      const since = url.searchParams.get('since');
      const items = this.notifications
        .filter((notification) => since === null || Date.parse(notification.updated_at) > Date.parse(since))
        .sort((a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at))
        .map((notification) => ({ ...notification, last_read_at: null, url: `${this.url}/notifications/threads/${notification.id}` }));
      const newest = items[0]?.updated_at;
      const lastModified = newest === undefined ? undefined : new Date(newest).toUTCString();
      const ifModifiedSince = request.headers['if-modified-since'];
      if (ifModifiedSince !== undefined && (newest === undefined || Date.parse(newest) <= Date.parse(ifModifiedSince))) {
        return send(304, undefined);
      }
      return this.sendPage(request, url, items, send, lastModified === undefined ? {} : { 'last-modified': lastModified });
    }
    send(404, { message: 'Not Found' });
  }

  private sendPage(
    request: IncomingMessage,
    url: URL,
    items: unknown[],
    send: (status: number, body: unknown, headers?: Record<string, string>) => void,
    extraHeaders: Record<string, string> = {},
  ): void {
    const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30) || 30, this.maxPerPage);
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const body = items.slice((page - 1) * perPage, page * perPage);
    const pages = Math.max(1, Math.ceil(items.length / perPage));
    const headers: Record<string, string> = { ...extraHeaders };
    const link = (target: number, rel: string): string => {
      const next = new URL(url);
      next.searchParams.set('page', String(target));
      return `<${next.toString()}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page < pages) links.push(link(page + 1, 'next'), link(pages, 'last'));
    if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
    if (links.length > 0) headers.link = links.join(', ');
    const etag = `W/"${createHash('sha1')
      .update(JSON.stringify(body))
      .update(headers.link ?? '')
      .digest('hex')}"`;
    headers.etag = etag;
    if (request.headers['if-none-match'] === etag) {
      send(304, undefined, headers);
      return;
    }
    if (this.rateLimit !== undefined) this.rateLimit.remaining--;
    send(200, body, headers);
  }

  private rateHeaders(): Record<string, string> {
    const limit = this.rateLimit ?? { remaining: 4999, reset: Math.floor(Date.now() / 1000) + 3600 };
    return {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(Math.max(0, limit.remaining)),
      'x-ratelimit-reset': String(limit.reset),
    };
  }
}

function repoJson(repo: FakeRepo): Record<string, unknown> {
  const fullName = `${repo.owner}/${repo.name}`;
  return {
    id: hashId(fullName),
    name: repo.name,
    full_name: fullName,
    private: repo.private,
    owner: { login: repo.owner, id: 1, type: 'User' },
    description: repo.description,
    fork: false,
    language: repo.language,
    stargazers_count: repo.stars,
    watchers_count: repo.stars,
    forks_count: repo.forks,
    open_issues_count: repo.issues.filter((issue) => issue.state === 'open').length,
    created_at: isoAt(-1000),
    updated_at: repo.updated_at,
    pushed_at: repo.updated_at,
    default_branch: 'main',
  };
}

function issueJson(repo: FakeRepo, issue: FakeIssue): Record<string, unknown> {
  const base = `https://api.github.com/repos/${repo.owner}/${repo.name}`;
  return {
    id: hashId(`${repo.owner}/${repo.name}#${issue.number}`),
    number: issue.number,
    title: issue.title,
    state: issue.state,
    user: { login: issue.author, id: 2, type: 'User' },
    labels: [],
    comments: 0,
    created_at: issue.created_at,
    updated_at: issue.updated_at,
    body: 'body',
    url: `${base}/issues/${issue.number}`,
    ...(issue.pull_request === true ? { pull_request: { url: `${base}/pulls/${issue.number}` } } : {}),
  };
}

const hashId = (text: string): number => createHash('sha1').update(text).digest().readUInt32BE(0);
