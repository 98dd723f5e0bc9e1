import type { Clock } from '../clock.js';
import { CredentialRejectedError, RateLimitedError } from '../connector.js';
import { getJson, HttpStatusError, type JsonGetResult, type Validators } from '../http/json-http.js';

export interface GitHubClientOptions {
  readonly apiUrl: string;
  readonly token: string;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  readonly userAgent: string;
  readonly fetch?: typeof fetch;
}

export const GITHUB_REJECTED_TOKEN = 'GitHub rejected the token (401)';

/**
 * Authenticated conditional GETs against the GitHub REST API for one poll. Tracks the primary
 * rate limit: once a response says `X-RateLimit-Remaining: 0`, every further request of the poll
 * throws a RateLimitedError until `X-RateLimit-Reset`, without touching the network.
 */
export class GitHubClient {
  /** No request before this time (epoch ms); 0 when the rate limit has not run out. */
  blockedUntil = 0;

  constructor(private readonly options: GitHubClientOptions) {}

  url(path: string): string {
    return `${this.options.apiUrl}${path}`;
  }

  async get(url: string, validators: Validators | undefined): Promise<JsonGetResult> {
    if (this.blockedUntil > this.options.clock.now()) {
      throw new RateLimitedError(`GitHub rate limit exhausted until ${new Date(this.blockedUntil).toISOString()}`, this.blockedUntil);
    }
    let result: JsonGetResult;
    try {
      result = await getJson(url, {
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${this.options.token}`,
          'user-agent': this.options.userAgent,
          'x-github-api-version': '2022-11-28',
        },
        ...(validators === undefined ? {} : { validators }),
        signal: this.options.signal,
        timeoutMs: this.options.timeoutMs,
        ...(this.options.fetch === undefined ? {} : { fetch: this.options.fetch }),
      });
    } catch (error) {
      if (!(error instanceof HttpStatusError)) throw error;
      if (error.status === 401) throw new CredentialRejectedError(GITHUB_REJECTED_TOKEN);
      const limitedUntil = this.limitedUntil(error.headers);
      if ((error.status === 403 || error.status === 429) && limitedUntil !== undefined) {
        this.blockedUntil = limitedUntil;
        throw new RateLimitedError(
          `GitHub rate limit exceeded (${error.status}); waiting until ${new Date(limitedUntil).toISOString()}`,
          limitedUntil,
        );
      }
      throw error;
    }
    this.noteRateLimit(result.headers);
    return result;
  }

  private noteRateLimit(headers: Headers): void {
    if (headers.get('x-ratelimit-remaining')?.trim() !== '0') return;
    this.blockedUntil = Math.max(this.blockedUntil, resetOf(headers) ?? this.options.clock.now() + 60_000);
  }

  /** When a refused request may be retried: the primary limit's reset, or a secondary limit's Retry-After. */
  private limitedUntil(headers: Headers): number | undefined {
    const retryAfter = Number(headers.get('retry-after'));
    if (headers.get('retry-after') !== null && Number.isFinite(retryAfter) && retryAfter >= 0) {
      return this.options.clock.now() + retryAfter * 1000;
    }
    if (headers.get('x-ratelimit-remaining')?.trim() === '0') return resetOf(headers) ?? this.options.clock.now() + 60_000;
    return undefined;
  }
}

/** `X-RateLimit-Reset` (epoch seconds) in epoch milliseconds. */
function resetOf(headers: Headers): number | undefined {
  const reset = Number(headers.get('x-ratelimit-reset'));
  return headers.get('x-ratelimit-reset') !== null && Number.isFinite(reset) && reset > 0 ? reset * 1000 : undefined;
}
