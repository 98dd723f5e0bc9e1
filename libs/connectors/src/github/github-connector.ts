import type { Connector, Observation, PollContext, PollResult } from '../connector.js';
import { ConnectorError, RateLimitedError } from '../connector.js';
import { CursorBook } from '../http/cursor-book.js';
import { DEFAULT_TIMEOUT_MS, HttpStatusError, messageOf, nextLink } from '../http/json-http.js';
import { rememberedKeys, walkPages } from '../http/paged-resource.js';
import { GitHubClient } from './github-client.js';

export interface GitHubConnectorOptions {
  /** REST API base URL (https://api.github.com, or GitHub Enterprise's https://host/api/v3). */
  readonly apiUrl: string;
  readonly pollIntervalSeconds: number;
  /** Pages followed per listing (default 10, i.e. up to 1000 repositories or issues per repository). */
  readonly maxPages?: number;
  /** Timeout of one request (default 15 s). */
  readonly timeoutMs?: number;
  readonly userAgent?: string;
  /** Replaces the global fetch (tests). */
  readonly fetch?: typeof fetch;
}

export const GITHUB_CONNECTOR = 'github';

interface GitHubUser {
  readonly login?: string;
}
interface GitHubRepository {
  readonly name?: string;
  readonly full_name?: string;
  readonly description?: string | null;
  readonly language?: string | null;
  readonly stargazers_count?: number;
  readonly forks_count?: number;
  readonly open_issues_count?: number;
  readonly private?: boolean;
  readonly updated_at?: string;
}
interface GitHubIssue {
  readonly number?: number;
  readonly title?: string;
  readonly state?: string;
  readonly user?: GitHubUser | null;
  readonly created_at?: string;
  readonly updated_at?: string;
  readonly pull_request?: unknown;
}
interface GitHubNotification {
  readonly id?: string | number;
  readonly reason?: string;
  readonly unread?: boolean;
  readonly updated_at?: string;
  readonly subject?: { readonly title?: string; readonly type?: string; readonly url?: string | null } | null;
}

const NOTIFICATIONS_SINCE = 'notifications.since';

interface ListedRepository {
  readonly fullName: string;
  readonly openIssues: number;
}

/**
 * Polls the GitHub REST API with a personal access token: the user's repositories, the open
 * issues and pull requests of each repository that has some, and the user's notifications.
 * Every listing uses conditional requests (ETag / If-None-Match, Last-Modified for
 * notifications) and follows Link pagination up to `maxPages`.
 */
export class GitHubConnector implements Connector {
  readonly name = GITHUB_CONNECTOR;
  readonly stream = 'connectors.github';
  readonly pollIntervalSeconds: number;
  private readonly apiUrl: string;
  private readonly maxPages: number;

  constructor(private readonly options: GitHubConnectorOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.pollIntervalSeconds = options.pollIntervalSeconds;
    this.maxPages = options.maxPages ?? 10;
  }

  async poll(context: PollContext): Promise<PollResult> {
    const client = new GitHubClient({
      apiUrl: this.apiUrl,
      token: context.token,
      clock: context.clock,
      signal: context.signal,
      timeoutMs: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      userAgent: this.options.userAgent ?? 'flux-connector-github',
      ...(this.options.fetch === undefined ? {} : { fetch: this.options.fetch }),
    });
    const book = new CursorBook(context.cursors);
    const observations: Observation[] = [];
    try {
      const repositories = await this.pollRepositories(client, book, observations);
      await this.pollNotifications(client, book, observations);
      for (const repository of repositories) {
        await this.pollIssues(client, book, observations, repository);
      }
    } catch (error) {
      if (error instanceof RateLimitedError) {
        context.logger.warn({ connector: this.name, until: new Date(error.until).toISOString() }, error.message);
        return { observations, cursors: book.result(false), notBefore: error.until, incomplete: true };
      }
      if (error instanceof ConnectorError || context.signal.aborted) throw error;
      if (error instanceof HttpStatusError && error.status === 403) {
        throw new ConnectorError(`GitHub refused access (403): ${error.detail || 'forbidden'}`, { permanent: true, cause: error });
      }
      throw new ConnectorError(`GitHub request failed: ${messageOf(error)}`, { cause: error });
    }
    // The last response may have used up the rate limit: the next poll waits for its reset.
    const notBefore = client.blockedUntil > context.clock.now() ? { notBefore: client.blockedUntil } : {};
    return { observations, cursors: book.result(true), ...notBefore };
  }

  /** Publishes the repositories; resolves with every one listed and its open issue count. */
  private async pollRepositories(client: GitHubClient, book: CursorBook, observations: Observation[]): Promise<ListedRepository[]> {
    const listed: ListedRepository[] = [];
    await walkPages({
      memoKey: 'repos',
      firstUrl: client.url('/user/repos?per_page=100'),
      maxPages: this.maxPages,
      book,
      get: (url, validators) => client.get(url, validators),
      nextOf: (result, url) => nextLink(result.headers.get('link'), url),
      onPage: (content) => {
        // Remembered as "owner/name <open issues>" so an unchanged page still drives the issue polls.
        const keys = content.changed ? this.repositoryPage(content.body, observations) : content.keys;
        for (const key of keys) {
          const [fullName, count] = key.split(' ');
          if (fullName !== undefined) listed.push({ fullName, openIssues: Number(count ?? 1) });
        }
        return keys;
      },
    });
    return listed;
  }

  private repositoryPage(body: unknown, observations: Observation[]): string[] {
    const keys: string[] = [];
    for (const repo of arrayOf<GitHubRepository>(body, '/user/repos')) {
      const fullName = repo.full_name;
      if (typeof fullName !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(fullName)) continue;
      observations.push({
        entityId: `github/repo/${fullName}`,
        properties: {
          name: repo.name ?? fullName.split('/')[1] ?? fullName,
          full_name: fullName,
          description: repo.description ?? null,
          language: repo.language ?? null,
          stars: repo.stargazers_count ?? 0,
          forks: repo.forks_count ?? 0,
          open_issues: repo.open_issues_count ?? 0,
          private: repo.private ?? false,
          updated_at: repo.updated_at ?? null,
        },
        ...observedAt(repo.updated_at),
      });
      keys.push(`${fullName} ${repo.open_issues_count ?? 1}`);
    }
    return keys;
  }

  /**
   * The open issues and pull requests of one repository. When the listing is complete, issues
   * that were open last time and are no longer listed are published as `state: closed`.
   */
  private async pollIssues(client: GitHubClient, book: CursorBook, observations: Observation[], repository: ListedRepository): Promise<void> {
    const { fullName } = repository;
    const memoKey = `issues ${fullName}`;
    const previouslyOpen = new Set(rememberedKeys(book, memoKey));
    const open = new Set<string>();
    // GitHub's open_issues_count counts pull requests too: zero means there is nothing to list.
    if (repository.openIssues > 0) {
      try {
        const walk = await walkPages({
          memoKey,
          firstUrl: client.url(`/repos/${fullName}/issues?state=open&per_page=100`),
          maxPages: this.maxPages,
          book,
          get: (url, validators) => client.get(url, validators),
          nextOf: (result, url) => nextLink(result.headers.get('link'), url),
          onPage: (content) => {
            const numbers = content.changed ? this.issuePage(content.body, fullName, observations) : content.keys;
            for (const number of numbers) open.add(number);
            return numbers;
          },
        });
        if (!walk.complete) return;
      } catch (error) {
        // Issues disabled (410), repository gone (404) or not accessible (403): skip that repository.
        if (error instanceof HttpStatusError && [403, 404, 410].includes(error.status)) return;
        throw error;
      }
    }
    for (const number of previouslyOpen) {
      if (!open.has(number)) observations.push({ entityId: `github/issue/${fullName}/${number}`, properties: { state: 'closed' } });
    }
  }

  /** Publishes the issues of a page; returns their numbers. */
  private issuePage(body: unknown, fullName: string, observations: Observation[]): string[] {
    const numbers: string[] = [];
    for (const issue of arrayOf<GitHubIssue>(body, `/repos/${fullName}/issues`)) {
      if (typeof issue.number !== 'number') continue;
      numbers.push(String(issue.number));
      observations.push({
        entityId: `github/issue/${fullName}/${issue.number}`,
        properties: {
          number: issue.number,
          title: issue.title ?? '',
          state: issue.state ?? 'open',
          author: issue.user?.login ?? null,
          created_at: issue.created_at ?? null,
          updated_at: issue.updated_at ?? null,
          is_pull_request: issue.pull_request !== undefined && issue.pull_request !== null,
        },
        ...observedAt(issue.updated_at),
      });
    }
    return numbers;
  }

  /** Notifications updated since the newest one seen last time (GitHub's `since`). */
  private async pollNotifications(client: GitHubClient, book: CursorBook, observations: Observation[]): Promise<void> {
    const since = book.get(NOTIFICATIONS_SINCE);
    let newest = since;
    try {
      await this.walkNotifications(client, book, observations, since, (updated) => {
        if (newest === undefined || Date.parse(updated) > Date.parse(newest)) newest = updated;
      });
    } catch (error) {
      // Tokens without notification access (fine-grained PATs, missing scope) still sync the rest.
      if (error instanceof HttpStatusError && (error.status === 403 || error.status === 404)) {
        if (since !== undefined) book.set(NOTIFICATIONS_SINCE, since);
        return;
      }
      throw error;
    }
    if (newest !== undefined) book.set(NOTIFICATIONS_SINCE, newest);
  }

  private async walkNotifications(
    client: GitHubClient,
    book: CursorBook,
    observations: Observation[],
    since: string | undefined,
    seen: (updatedAt: string) => void,
  ): Promise<void> {
    await walkPages({
      memoKey: 'notifications',
      firstUrl: client.url(`/notifications?per_page=50${since === undefined ? '' : `&since=${encodeURIComponent(since)}`}`),
      maxPages: this.maxPages,
      book,
      get: (url, validators) => client.get(url, validators),
      nextOf: (result, url) => nextLink(result.headers.get('link'), url),
      onPage: (content) => {
        if (!content.changed) return undefined;
        for (const notification of arrayOf<GitHubNotification>(content.body, '/notifications')) {
          if (notification.id === undefined || notification.id === null) continue;
          const id = String(notification.id);
          observations.push({
            entityId: `github/notification/${id}`,
            properties: {
              id,
              reason: notification.reason ?? null,
              unread: notification.unread ?? false,
              updated_at: notification.updated_at ?? null,
              subject_title: notification.subject?.title ?? null,
              subject_type: notification.subject?.type ?? null,
              subject_url: notification.subject?.url ?? null,
            },
            ...observedAt(notification.updated_at),
          });
          const updated = notification.updated_at;
          if (typeof updated === 'string' && !Number.isNaN(Date.parse(updated))) seen(updated);
        }
        return undefined;
      },
    });
  }
}

function arrayOf<T>(body: unknown, what: string): T[] {
  if (!Array.isArray(body)) throw new ConnectorError(`GitHub answered ${what} with something other than a list`);
  return body.filter((item): item is T => typeof item === 'object' && item !== null);
}

function observedAt(value: string | undefined): { observedAt?: number } {
  const parsed = value === undefined ? Number.NaN : Date.parse(value);
  return Number.isNaN(parsed) ? {} : { observedAt: parsed };
}
