import { CredentialRejectedError, ConnectorError, streamSegmentsOf } from '../connector.js';
import type { Connector, Observation, PollContext, PollResult } from '../connector.js';
import { CursorBook } from '../http/cursor-book.js';
import { DEFAULT_TIMEOUT_MS, getJson, HttpStatusError, messageOf, nextLink } from '../http/json-http.js';
import { walkPages } from '../http/paged-resource.js';

export type HttpJsonAuth =
  /** The stored credential is not sent (any token enables the connector). */
  | { readonly kind: 'none' }
  /** `Authorization: Bearer <token>`. */
  | { readonly kind: 'bearer' }
  /** The token as the value of a header, e.g. `X-Api-Key`. */
  | { readonly kind: 'header'; readonly name: string };

export interface HttpJsonConnectorConfig {
  /** Connector name in the API (default `http-json`). */
  readonly name: string;
  readonly url: string;
  /** Path of the item array in the response (`[]` for a top-level array, `['data', 'items']`...). */
  readonly itemsPath: readonly string[];
  /** Item field holding its id (string or number). */
  readonly idField: string;
  /** Entity ids are `<entityPrefix>/<id>` (then namespaced in public mode). */
  readonly entityPrefix: string;
  /** Item fields published as properties (default: every field except the id). */
  readonly fields?: readonly string[];
  /** Item field holding its last-change time (ISO or epoch ms), used as event timestamp. */
  readonly updatedField?: string;
  readonly pollIntervalSeconds: number;
  readonly auth: HttpJsonAuth;
  /** Link rel="next" pages followed (default 10). */
  readonly maxPages?: number;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/**
 * A generic poller: GETs a URL returning JSON (following Link pagination, with ETags),
 * takes the array at `itemsPath` and publishes every item as one entity.
 */
export class HttpJsonConnector implements Connector {
  readonly name: string;
  readonly stream: string;
  readonly pollIntervalSeconds: number;

  constructor(private readonly config: HttpJsonConnectorConfig) {
    this.name = config.name;
    this.stream = `connectors.${streamSegmentsOf(config.name)}`;
    this.pollIntervalSeconds = config.pollIntervalSeconds;
  }

  async poll(context: PollContext): Promise<PollResult> {
    const book = new CursorBook(context.cursors);
    const observations: Observation[] = [];
    const headers = this.headers(context.token);
    try {
      await walkPages({
        memoKey: 'items',
        firstUrl: this.config.url,
        maxPages: this.config.maxPages ?? 10,
        book,
        get: (url, validators) =>
          getJson(url, {
            headers,
            ...(validators === undefined ? {} : { validators }),
            signal: context.signal,
            timeoutMs: this.config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
            ...(this.config.fetch === undefined ? {} : { fetch: this.config.fetch }),
          }),
        nextOf: (result, url) => nextLink(result.headers.get('link'), url),
        onPage: (content) => {
          if (content.changed) observations.push(...this.itemsOf(content.body));
          return undefined;
        },
      });
    } catch (error) {
      if (context.signal.aborted || error instanceof ConnectorError) throw error;
      if (error instanceof HttpStatusError) {
        if (error.status === 401) throw new CredentialRejectedError(`${hostOf(error.url)} rejected the credential (401)`);
        const retryAfter = Number(error.headers.get('retry-after'));
        if ((error.status === 429 || error.status === 503) && error.headers.get('retry-after') !== null && Number.isFinite(retryAfter)) {
          const until = context.clock.now() + Math.max(0, retryAfter) * 1000;
          return { observations, cursors: book.result(false), notBefore: until, incomplete: true };
        }
      }
      throw new ConnectorError(`${this.name} request failed: ${messageOf(error)}`, { cause: error });
    }
    return { observations, cursors: book.result(true) };
  }

  private headers(token: string): Record<string, string> {
    switch (this.config.auth.kind) {
      case 'none':
        return {};
      case 'bearer':
        return { authorization: `Bearer ${token}` };
      case 'header':
        return { [this.config.auth.name]: token };
    }
  }

  private itemsOf(body: unknown): Observation[] {
    let items: unknown = body;
    for (const segment of this.config.itemsPath) {
      items = typeof items === 'object' && items !== null && !Array.isArray(items) ? (items as Record<string, unknown>)[segment] : undefined;
    }
    if (!Array.isArray(items)) {
      const where = this.config.itemsPath.length === 0 ? 'the response' : `"${this.config.itemsPath.join('.')}"`;
      throw new ConnectorError(`${this.name}: ${where} is not a JSON array`, { permanent: true });
    }
    const observations: Observation[] = [];
    for (const item of items) {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
      const record = item as Record<string, unknown>;
      const id = record[this.config.idField];
      if ((typeof id !== 'string' || id === '') && (typeof id !== 'number' || !Number.isFinite(id))) continue;
      const properties: Record<string, unknown> = {};
      const fields = this.config.fields ?? Object.keys(record).filter((field) => field !== this.config.idField);
      for (const field of fields) {
        if (field === '' || field === '__deleted__') continue;
        const value = record[field];
        if (value !== undefined) properties[field] = value;
      }
      const updated = this.config.updatedField === undefined ? undefined : timeOf(record[this.config.updatedField]);
      observations.push({
        entityId: `${this.config.entityPrefix}/${String(id)}`,
        properties,
        ...(updated === undefined ? {} : { observedAt: updated }),
      });
    }
    return observations;
  }
}

function timeOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    if (!Number.isNaN(parsed)) return parsed;
  }
  return undefined;
}

const hostOf = (url: string): string => new URL(url).host;
