import { byteLength, chunkBody, planChunks, type SerialisedEvent } from './batch-chunks.js';
import { FluxHttpError } from './errors.js';
import { send, withQuery, type FetchFunction, type RawResponse, type RequestSpec, type TransportOptions } from './http-transport.js';
import type {
  BatchInput,
  BatchItemResult,
  BatchResult,
  ConnectorDetail,
  ConnectorSummary,
  CreatedNamespace,
  DeleteManyResult,
  DeleteResult,
  DeleteSelector,
  Entity,
  EventEnvelope,
  HealthStatus,
  HistoryEvent,
  Namespace,
  PublishInput,
  PublishResult,
  Readiness,
  RuntimeConfig,
  Source,
  SourceSpec,
} from './types.js';
import { WatchStream, type Watch, type WatchOptions } from './watch.js';
import type { PrefixWatchMessage } from './watch-messages.js';
import { loadWebSocket, type WebSocketConstructor, type WebSocketFactory } from './websocket-loader.js';

export const DEFAULT_URL = 'http://localhost:3000';
/** The contract's default `body_size_limit_batch_bytes` (10 MiB). */
export const DEFAULT_MAX_BATCH_BYTES = 10 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_STREAM = 'default';
export const DEFAULT_SOURCE = 'flux-client';
/** Entities per list request; the server caps it (FLUX_LIST_MAX_LIMIT, 10000 by default). */
export const DEFAULT_PAGE_SIZE = 1000;

const NEXT_CURSOR_HEADER = 'flux-next-cursor';

export interface FluxClientOptions {
  /** Base URL of Flux (default http://localhost:3000). */
  readonly url?: string;
  /** Namespace token, sent as bearer with every request but admin ones (public mode). */
  readonly token?: string;
  /** Admin token (FLUX_ADMIN_TOKEN), sent by namespace registration and deletion and config updates. */
  readonly adminToken?: string;
  /** fetch implementation (default the global one). */
  readonly fetch?: FetchFunction;
  /** WebSocket class (default the global one, else the `ws` package). */
  readonly WebSocket?: WebSocketConstructor;
  /** Per request (default 30 s). */
  readonly timeoutMs?: number;
  /** Batch byte limit; when absent it is read from GET /api/admin/config (10 MiB if that fails). */
  readonly maxBatchBytes?: number;
  /** Stream and source of `publish` and batch inputs that name none. */
  readonly stream?: string;
  readonly source?: string;
  /** Extra headers for every HTTP request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** WebSocket URL (default: the base URL's `/api/ws` with ws: or wss:). */
  readonly wsUrl?: string;
}

export interface BatchOptions extends PublishOptions {
  /** Overrides the client's and the server's batch byte limit. */
  readonly maxBatchBytes?: number;
  readonly signal?: AbortSignal;
}

export interface GetOptions {
  /** A past time: the entity as it was then. */
  readonly at?: Date | string;
  /**
   * Read your own write: a `position` a publish returned. The server answers once its state
   * reflects that position (503 FLUX_WAIT_TIMEOUT after `timeoutMs`, or its default of 5 s).
   */
  readonly minPosition?: string;
  readonly timeoutMs?: number;
}

export interface PublishOptions {
  /**
   * `applied`: resolve once the event is applied, with the entity's new `version` (a conditional
   * write always waits). Default: once it is durably appended.
   */
  readonly wait?: 'applied';
  /** How long the server waits for `applied` (its default: 5 s). */
  readonly timeoutMs?: number;
}

export interface ListOptions {
  /** Ids starting with this. */
  readonly prefix?: string;
  /** Ids of the form `<namespace>/...`. */
  readonly namespace?: string;
  /**
   * Only entities matching this filter expression, evaluated by the server (see the server's
   * docs/filters.md), e.g. `status = "open" and battery < 20`.
   */
  readonly filter?: string;
  /** Only entities updated at or after this time (filtered by the client). */
  readonly since?: Date | string;
  /** At most this many entities in all. */
  readonly limit?: number;
  /** Entities per request (default 1000). */
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
}

/** One page of a list: what `listPage` asks for. */
export interface ListPageOptions {
  readonly prefix?: string;
  readonly namespace?: string;
  /** As in `ListOptions`. A filtered page may hold fewer than `limit` entities, none even, while `nextCursor` is set. */
  readonly filter?: string;
  /** Entities in this page at most. */
  readonly limit: number;
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string;
  readonly signal?: AbortSignal;
}

export interface EntityPage {
  readonly entities: Entity[];
  /** Present while more entities match: the cursor of the next page. */
  readonly nextCursor?: string;
}

export interface HistoryOptions {
  /** Events stored since then (the server's default: 24 hours ago). */
  readonly since?: Date | string;
  /** The newest this many (the server's default 100, at most 500). */
  readonly limit?: number;
}

const isEnvelope = (input: BatchInput): input is Omit<EventEnvelope, 'timestamp'> & { timestamp?: number } => 'payload' in input;
const epochMs = (timestamp: number | Date | undefined): number =>
  timestamp === undefined ? Date.now() : timestamp instanceof Date ? timestamp.getTime() : timestamp;
const isoOf = (time: Date | string): string => (time instanceof Date ? time.toISOString() : time);
const entityPath = (id: string): string => `/api/state/entities/${encodeURIComponent(id)}`;

/** A typed client for the whole Flux API (see the package README). */
export class FluxClient {
  readonly url: string;
  readonly namespaces: NamespacesApi;
  readonly connectors: ConnectorsApi;
  readonly admin: AdminApi;
  private readonly transport: TransportOptions;
  private readonly options: FluxClientOptions;
  private webSocket: Promise<WebSocketFactory> | undefined;
  private batchLimit: Promise<number> | undefined;

  constructor(options: FluxClientOptions = {}) {
    this.options = options;
    this.url = (options.url ?? DEFAULT_URL).replace(/\/+$/, '');
    const fetchFunction = options.fetch ?? globalThis.fetch;
    if (typeof fetchFunction !== 'function') throw new TypeError('FluxClient needs fetch: this runtime has none, pass options.fetch');
    this.transport = {
      baseUrl: this.url,
      fetch: (input, init) => fetchFunction(input, init),
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      headers: options.headers ?? {},
    };
    this.namespaces = new NamespacesApi(this);
    this.connectors = new ConnectorsApi(this);
    this.admin = new AdminApi(this);
  }

  /** @internal One request; shared with the namespaces, connectors and admin groups. */
  async request<T>(spec: RequestSpec, accept: readonly number[] = []): Promise<{ status: number; headers: Headers; body: T }> {
    const response: RawResponse = await send(this.transport, spec, accept);
    return response as { status: number; headers: Headers; body: T };
  }

  /** @internal */
  get token(): string | undefined {
    return this.options.token;
  }

  /** @internal */
  get adminToken(): string | undefined {
    return this.options.adminToken;
  }

  /** The contract envelope of a convenient input (defaults for stream, source, timestamp). */
  toEnvelope(input: PublishInput): EventEnvelope {
    return {
      stream: input.stream ?? this.options.stream ?? DEFAULT_STREAM,
      source: input.source ?? this.options.source ?? DEFAULT_SOURCE,
      timestamp: epochMs(input.timestamp),
      payload: { entity_id: input.entityId, properties: input.properties },
      ...(input.eventId === undefined ? {} : { eventId: input.eventId }),
      ...(input.key === undefined ? {} : { key: input.key }),
      ...(input.schema === undefined ? {} : { schema: input.schema }),
      ...(input.ttlSeconds === undefined ? {} : { ttl_seconds: input.ttlSeconds }),
      ...(input.ifVersion === undefined ? {} : { if_version: input.ifVersion }),
      ...(input.ifAbsent === true ? { if_absent: true as const } : {}),
    };
  }

  /**
   * Publishes one event; resolves once Flux has durably appended it (state follows within ms),
   * or with `wait: 'applied'` once it is applied.
   */
  publish(input: PublishInput, options: PublishOptions = {}): Promise<PublishResult> {
    return this.publishEvent(this.toEnvelope(input), options);
  }

  /** Publishes a raw contract envelope as is. */
  async publishEvent(envelope: EventEnvelope, options: PublishOptions = {}): Promise<PublishResult> {
    const path = withQuery('/api/events', { wait: options.wait, timeout_ms: options.timeoutMs });
    return (await this.request<PublishResult>({ method: 'POST', path, body: envelope, token: this.token })).body;
  }

  /**
   * Publishes events in as few requests as the batch byte limit allows, in input order. Each
   * element succeeds or fails on its own; an event too large for any batch fails locally.
   * An error for a whole request (401, 503, network) is thrown; the requests before it stay applied.
   */
  async batch(events: readonly BatchInput[], options: BatchOptions = {}): Promise<BatchResult> {
    const serialised: SerialisedEvent[] = events.map((input, index) => {
      const envelope = isEnvelope(input) ? { ...input, timestamp: input.timestamp ?? Date.now() } : this.toEnvelope(input);
      const json = JSON.stringify(envelope);
      return { index, json, bytes: byteLength(json) };
    });
    const results: BatchItemResult[] = new Array<BatchItemResult>(events.length);
    const maxBytes = options.maxBatchBytes ?? (await this.maxBatchBytes());
    const { chunks, oversized } = planChunks(serialised, maxBytes);
    for (const event of oversized) {
      results[event.index] = {
        index: event.index,
        ok: false,
        code: 'FLUX_PAYLOAD_TOO_LARGE',
        error: `event of ${event.bytes} bytes exceeds the batch limit of ${maxBytes} bytes`,
      };
    }
    let requests = 0;
    const sendChunk = async (chunk: SerialisedEvent[]): Promise<void> => {
      requests += 1;
      try {
        const response = await this.request<{ results: Array<{ eventId?: string; stream?: string; error?: string }> }>({
          method: 'POST',
          path: withQuery('/api/events/batch', { wait: options.wait, timeout_ms: options.timeoutMs }),
          body: chunkBody(chunk),
          token: this.token,
          signal: options.signal,
        });
        chunk.forEach((event, position) => {
          const answer = response.body.results[position] ?? { error: 'no result for this event in the answer' };
          results[event.index] = { index: event.index, ok: answer.error === undefined, ...answer };
        });
      } catch (error) {
        if (!(error instanceof FluxHttpError) || error.status !== 413) throw error;
        // The limit shrank since it was read (or another hop has its own): split and go on.
        this.batchLimit = undefined;
        if (chunk.length === 1) {
          const [event] = chunk as [SerialisedEvent];
          results[event.index] = { index: event.index, ok: false, code: error.code, error: error.message };
          return;
        }
        const half = Math.ceil(chunk.length / 2);
        await sendChunk(chunk.slice(0, half));
        await sendChunk(chunk.slice(half));
      }
    };
    for (const chunk of chunks) await sendChunk(chunk);
    const accepted = results.filter((result) => result.ok).length;
    return { results, accepted, refused: results.length - accepted, requests };
  }

  /** The batch byte limit: the option, else the server's runtime config, else the default. */
  maxBatchBytes(): Promise<number> {
    if (this.options.maxBatchBytes !== undefined) return Promise.resolve(this.options.maxBatchBytes);
    this.batchLimit ??= this.admin.getConfig().then(
      (config) => (typeof config.body_size_limit_batch_bytes === 'number' ? config.body_size_limit_batch_bytes : DEFAULT_MAX_BATCH_BYTES),
      () => DEFAULT_MAX_BATCH_BYTES,
    );
    return this.batchLimit;
  }

  /**
   * The entity, or undefined when there is none. With `at`: the entity as it was then, rebuilt
   * from its retained history (undefined when it did not exist then; a FluxHttpError with code
   * FLUX_OUTSIDE_HISTORY when the history does not reach back that far).
   */
  async get(id: string, options: GetOptions = {}): Promise<Entity | undefined> {
    const path = withQuery(entityPath(id), {
      at: options.at === undefined ? undefined : isoOf(options.at),
      min_position: options.minPosition,
      timeout_ms: options.timeoutMs,
    });
    const response = await this.request<Entity>({ method: 'GET', path, token: this.token }, [404]);
    return response.status === 404 ? undefined : response.body;
  }

  /** Entities in id order, fetched a page at a time as the iteration proceeds. */
  async *list(options: ListOptions = {}): AsyncGenerator<Entity, void, undefined> {
    const sinceMs = options.since === undefined ? undefined : Date.parse(isoOf(options.since));
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    let remaining = options.limit ?? Number.POSITIVE_INFINITY;
    let cursor: string | undefined;
    while (remaining > 0) {
      const page = await this.listPage({
        ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
        ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
        ...(options.filter === undefined ? {} : { filter: options.filter }),
        limit: sinceMs === undefined ? Math.min(pageSize, remaining) : pageSize,
        ...(cursor === undefined ? {} : { cursor }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      for (const entity of page.entities) {
        if (sinceMs !== undefined && !(Date.parse(entity.lastUpdated) >= sinceMs)) continue;
        yield entity;
        remaining -= 1;
        if (remaining <= 0) return;
      }
      cursor = page.nextCursor;
      if (cursor === undefined) return;
    }
  }

  /** One page of entities and the cursor of the next (for paging across calls, as an agent does). */
  async listPage(options: ListPageOptions): Promise<EntityPage> {
    const path = withQuery('/api/state/entities', {
      prefix: options.prefix,
      namespace: options.namespace,
      filter: options.filter,
      limit: options.limit,
      cursor: options.cursor,
    });
    const response = await this.request<Entity[]>({ method: 'GET', path, token: this.token, signal: options.signal });
    const nextCursor = response.headers.get(NEXT_CURSOR_HEADER) ?? '';
    return { entities: response.body, ...(nextCursor === '' ? {} : { nextCursor }) };
  }

  async listAll(options: ListOptions = {}): Promise<Entity[]> {
    const entities: Entity[] = [];
    for await (const entity of this.list(options)) entities.push(entity);
    return entities;
  }

  /** Appends a tombstone; deleting an id that does not exist is not an error. */
  async delete(id: string): Promise<DeleteResult> {
    return (await this.request<DeleteResult>({ method: 'DELETE', path: entityPath(id), token: this.token })).body;
  }

  async deleteMany(selector: DeleteSelector): Promise<DeleteManyResult> {
    const body = 'ids' in selector ? { entity_ids: selector.ids } : selector;
    return (await this.request<DeleteManyResult>({ method: 'POST', path: '/api/state/entities/delete', body, token: this.token })).body;
  }

  /** Stored events of an entity, newest first (tombstones included). */
  async history(id: string, options: HistoryOptions = {}): Promise<HistoryEvent[]> {
    const path = withQuery('/api/events', {
      entity: id,
      since: options.since === undefined ? undefined : isoOf(options.since),
      limit: options.limit,
    });
    return (await this.request<HistoryEvent[]>({ method: 'GET', path, token: this.token })).body;
  }

  /** Liveness: resolves while the process runs. */
  async health(): Promise<HealthStatus> {
    return (await this.request<HealthStatus>({ method: 'GET', path: '/health' })).body;
  }

  /** Readiness: `ready: false` with the reason while Flux cannot serve yet (503). */
  async ready(): Promise<Readiness> {
    const response = await this.request<{ error?: string }>({ method: 'GET', path: '/ready' }, [503]);
    if (response.status === 200) return { ready: true };
    return { ready: false, ...(typeof response.body?.error === 'string' ? { reason: response.body.error } : {}) };
  }

  /** Prometheus metrics of the process that answered, in the text exposition format. */
  async metrics(): Promise<string> {
    return (await this.request<string>({ method: 'GET', path: '/metrics', responseType: 'text' })).body;
  }

  /** The OpenAPI 3 description of the API this Flux serves. */
  async openapi(): Promise<Record<string, unknown>> {
    return (await this.request<Record<string, unknown>>({ method: 'GET', path: '/api/openapi.json' })).body;
  }

  /**
   * Live updates over the WebSocket, reconnecting and subscribing again until closed. With a
   * `prefix` it also yields that subscription's own messages, and resumes without losing updates.
   */
  watch(options: WatchOptions & { readonly prefix: string }): Watch<PrefixWatchMessage>;
  watch(options?: WatchOptions): Watch;
  watch(options: WatchOptions = {}): Watch<PrefixWatchMessage> {
    this.webSocket ??= loadWebSocket(this.options.WebSocket);
    // A failed load is reported by the watch that needed it; the next watch tries again.
    const factory = this.webSocket;
    factory.catch(() => {
      if (this.webSocket === factory) this.webSocket = undefined;
    });
    return new WatchStream(this.options.wsUrl ?? webSocketUrl(this.url), factory, options);
  }
}

export const webSocketUrl = (baseUrl: string): string => `${baseUrl.replace(/^http/i, 'ws')}/api/ws`;

/** Namespace registration (public mode; creation and deletion need the admin token when one is set). */
export class NamespacesApi {
  constructor(private readonly client: FluxClient) {}

  async create(name: string): Promise<CreatedNamespace> {
    return (await this.client.request<CreatedNamespace>({ method: 'POST', path: '/api/namespaces', body: { name }, token: this.client.adminToken }))
      .body;
  }

  /** The namespace with its entity count, or undefined when unknown (or in internal mode). */
  async get(name: string): Promise<Namespace | undefined> {
    const response = await this.client.request<Namespace>({ method: 'GET', path: `/api/namespaces/${encodeURIComponent(name)}` }, [404]);
    return response.status === 404 ? undefined : response.body;
  }

  async delete(name: string): Promise<void> {
    await this.client.request({ method: 'DELETE', path: `/api/namespaces/${encodeURIComponent(name)}`, token: this.client.adminToken });
  }
}

/** Connectors and their credentials (in public mode, those of the token's namespace). */
export class ConnectorsApi {
  /** Generic HTTP sources created through the API. */
  readonly sources: SourcesApi;

  constructor(private readonly client: FluxClient) {
    this.sources = new SourcesApi(client);
  }

  async list(): Promise<ConnectorSummary[]> {
    return (await this.client.request<{ connectors: ConnectorSummary[] }>({ method: 'GET', path: '/api/connectors', token: this.client.token })).body
      .connectors;
  }

  async get(name: string): Promise<ConnectorDetail> {
    return (await this.client.request<ConnectorDetail>({ method: 'GET', path: connectorPath(name), token: this.client.token })).body;
  }

  /** Stores the credential (encrypted by Flux) and enables the connector. */
  async setToken(name: string, token: string): Promise<void> {
    await this.client.request({ method: 'POST', path: `${connectorPath(name)}/token`, body: { token }, token: this.client.token });
  }

  async deleteToken(name: string): Promise<void> {
    await this.client.request({ method: 'DELETE', path: `${connectorPath(name)}/token`, token: this.client.token });
  }

  /** Starts the connector's OAuth authorization: the URL to open in a browser (valid 10 minutes). */
  async oauthStart(name: string): Promise<string> {
    const response = await this.client.request<{ authorize_url: string }>({
      method: 'GET',
      path: `${connectorPath(name)}/oauth/start`,
      token: this.client.token,
    });
    return response.body.authorize_url;
  }
}

const connectorPath = (name: string): string => `/api/connectors/${encodeURIComponent(name)}`;
const sourcePath = (id: string): string => `/api/connectors/sources/${encodeURIComponent(id)}`;

/** HTTP sources (in public mode, those of the token's namespace). */
export class SourcesApi {
  constructor(private readonly client: FluxClient) {}

  async list(): Promise<Source[]> {
    return (await this.client.request<{ sources: Source[] }>({ method: 'GET', path: '/api/connectors/sources', token: this.client.token })).body
      .sources;
  }

  /** The source, or undefined when there is none with this id. */
  async get(id: string): Promise<Source | undefined> {
    const response = await this.client.request<Source>({ method: 'GET', path: sourcePath(id), token: this.client.token }, [404]);
    return response.status === 404 ? undefined : response.body;
  }

  async create(spec: SourceSpec): Promise<Source> {
    return (await this.client.request<Source>({ method: 'POST', path: '/api/connectors/sources', body: spec, token: this.client.token })).body;
  }

  /** Changes any field; the source is polled again at once unless paused. */
  async update(id: string, changes: Partial<SourceSpec>): Promise<Source> {
    return (await this.client.request<Source>({ method: 'PATCH', path: sourcePath(id), body: changes, token: this.client.token })).body;
  }

  pause(id: string): Promise<Source> {
    return this.update(id, { paused: true });
  }

  resume(id: string): Promise<Source> {
    return this.update(id, { paused: false });
  }

  async delete(id: string): Promise<void> {
    await this.client.request({ method: 'DELETE', path: sourcePath(id), token: this.client.token });
  }
}

/** The runtime config (limits); updates need the admin token when one is set. */
export class AdminApi {
  constructor(private readonly client: FluxClient) {}

  async getConfig(): Promise<RuntimeConfig> {
    return (
      await this.client.request<RuntimeConfig>({ method: 'GET', path: '/api/admin/config', token: this.client.adminToken ?? this.client.token })
    ).body;
  }

  /** Updates any subset of the config; resolves with the whole new config. */
  async setConfig(update: Partial<RuntimeConfig>): Promise<RuntimeConfig> {
    return (await this.client.request<RuntimeConfig>({ method: 'PUT', path: '/api/admin/config', body: update, token: this.client.adminToken })).body;
  }
}
