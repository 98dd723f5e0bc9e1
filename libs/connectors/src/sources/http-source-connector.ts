import { createHash } from 'node:crypto';
import { sourceStateName, type DisappearPolicy, type SourceAuth } from '@flux/core';
import { DELETED_PROPERTY, type Properties } from '@flux/domain';
import {
  ConnectorError,
  CredentialRejectedError,
  RateLimitedError,
  type Connector,
  type Observation,
  type PollContext,
  type PollResult,
} from '../connector.js';
import { CursorBook } from '../http/cursor-book.js';
import { getJson, HttpStatusError, messageOf, nextLink } from '../http/json-http.js';
import { rememberedKeys, walkPages } from '../http/paged-resource.js';
import { itemsAt, mapItem, type ItemMapping } from './item-mapping.js';

export interface HttpSourceLimits {
  /** Link rel="next" pages followed per poll. */
  readonly maxPages: number;
  /** Items taken per poll; a longer listing counts as incomplete (nothing is treated as gone). */
  readonly maxItems: number;
  /** Bytes accepted per response. */
  readonly maxBytes: number;
  /** Time allowed per request. */
  readonly timeoutMs: number;
}

const FINGERPRINT = 'configuration';

export const DEFAULT_SOURCE_LIMITS: HttpSourceLimits = { maxPages: 10, maxItems: 5_000, maxBytes: 10 * 1024 * 1024, timeoutMs: 15_000 };

export interface HttpSourceConfig extends ItemMapping {
  readonly id: string;
  readonly url: string;
  readonly itemsPath: string | null;
  readonly pollIntervalSeconds: number;
  readonly auth: SourceAuth;
  readonly onDisappear: DisappearPolicy;
  readonly limits: HttpSourceLimits;
  /** A fetch that refuses private addresses on a public instance (see guardedFetch). */
  readonly fetch: typeof fetch;
}

/** Retry-After as epoch ms: delta seconds or an HTTP date. */
export function retryAfterOf(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return now + Math.max(0, seconds) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(now, date);
}

/**
 * A source created through the API: GETs its URL (conditional requests, Link pagination),
 * maps every item to an entity, and after a complete listing applies the disappear policy to
 * the keys the previous listing had and this one lacks.
 */
export class HttpSourceConnector implements Connector {
  readonly name: string;
  readonly stream = 'connectors.sources';
  readonly pollIntervalSeconds: number;
  /** What a page's validators are valid for: a changed URL or mapping must not get a 304 for the old one. */
  private readonly fingerprint: string;

  constructor(private readonly config: HttpSourceConfig) {
    this.name = sourceStateName(config.id);
    this.pollIntervalSeconds = config.pollIntervalSeconds;
    const { url, itemsPath, entityKey, entityPrefix, properties, onDisappear } = config;
    this.fingerprint = createHash('sha256')
      .update(JSON.stringify([url, itemsPath, entityKey, entityPrefix, properties, onDisappear]))
      .digest('base64url');
  }

  async poll(context: PollContext): Promise<PollResult> {
    // The previous listing's keys always count; its validators only for the same configuration.
    const previous = new CursorBook(context.cursors);
    const book = new CursorBook(previous.get(FINGERPRINT) === this.fingerprint ? context.cursors : {});
    book.set(FINGERPRINT, this.fingerprint);
    const observations: Observation[] = [];
    const seen = new Set<string>();
    const markProperty = this.config.onDisappear.kind === 'mark' ? this.config.onDisappear.property : undefined;
    let truncated = false;
    let walk;
    try {
      walk = await walkPages({
        memoKey: 'items',
        firstUrl: this.config.url,
        maxPages: this.config.limits.maxPages,
        book,
        get: (url, validators) =>
          getJson(url, {
            headers: this.headers(context.token),
            ...(validators === undefined ? {} : { validators }),
            signal: context.signal,
            timeoutMs: this.config.limits.timeoutMs,
            maxBytes: this.config.limits.maxBytes,
            fetch: this.config.fetch,
          }),
        nextOf: (result, url) => nextLink(result.headers.get('link'), url),
        onPage: (content) => {
          if (!content.changed) {
            for (const key of content.keys) seen.add(key);
            return content.keys;
          }
          const items = itemsAt(content.body, this.config.itemsPath);
          if (items === undefined) throw new ConnectorError(`items_path selected nothing in the response`, { permanent: true });
          const keys: string[] = [];
          for (const item of items) {
            if (seen.size >= this.config.limits.maxItems) {
              truncated = true;
              break;
            }
            const mapped = mapItem(item, this.config);
            if (!mapped.ok) continue;
            if (seen.has(mapped.key)) continue;
            seen.add(mapped.key);
            keys.push(mapped.key);
            // A reappearing item loses its mark.
            const properties = markProperty === undefined ? mapped.properties : { ...mapped.properties, [markProperty]: null };
            observations.push({ entityId: mapped.key, properties: properties as Properties });
          }
          return keys;
        },
      });
    } catch (error) {
      throw this.failure(error, context);
    }
    const complete = walk.complete && !truncated;
    if (complete) observations.push(...this.disappeared(rememberedKeys(previous, 'items'), seen));
    return { observations, cursors: book.result(true), seen: seen.size };
  }

  private disappeared(before: readonly string[], now: ReadonlySet<string>): Observation[] {
    const policy = this.config.onDisappear;
    if (policy.kind === 'keep') return [];
    const gone = before.filter((key) => !now.has(key));
    const properties: Properties = policy.kind === 'mark' ? { [policy.property]: true } : { [DELETED_PROPERTY]: true };
    return gone.map((key) => ({ entityId: key, properties }));
  }

  private failure(error: unknown, context: PollContext): Error {
    if (context.signal.aborted || error instanceof ConnectorError) return error as Error;
    if (error instanceof HttpStatusError) {
      if (error.status === 401 || error.status === 403) return new CredentialRejectedError(`the source answered ${error.status}`);
      if (error.status === 429 || error.status >= 500) {
        const until = retryAfterOf(error.headers.get('retry-after'), context.clock.now());
        // With Retry-After the runtime waits as told; without, it backs off exponentially.
        if (until !== undefined) return new RateLimitedError(`the source answered ${error.status}`, until);
        return new ConnectorError(`the source answered ${error.status}`);
      }
      return new ConnectorError(`the source answered ${error.status}${error.detail === '' ? '' : `: ${error.detail}`}`, { permanent: true });
    }
    if (error instanceof SyntaxError || (error instanceof Error && error.name === 'JSONPathError')) {
      return new ConnectorError(`mapping failed: ${error.message}`, { permanent: true });
    }
    return new ConnectorError(messageOf(error), { cause: error });
  }

  private headers(token: string): Record<string, string> {
    const auth = this.config.auth;
    switch (auth.kind) {
      case 'none':
        return {};
      case 'bearer':
        return { authorization: `Bearer ${token}` };
      case 'basic':
        return { authorization: `Basic ${Buffer.from(token, 'utf8').toString('base64')}` };
      case 'header':
        return { [auth.name]: token };
    }
  }
}
