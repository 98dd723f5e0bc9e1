/** Small HTTP helpers for the black-box suite. Everything goes over the wire: raw requests, or @flux/client. */
import { randomBytes } from 'node:crypto';
import { FluxClient, FluxHttpError, type EventEnvelope } from '@flux/client';

/** Anything with a base URL; a Deployment qualifies (its baseUrl follows restarts). */
export interface Target {
  readonly baseUrl: string;
}

// Response bodies are arbitrary JSON; tests assert their shape explicitly.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** Parsed body, or undefined when the body is empty or not JSON. */
  readonly body: Json;
  /** True when the body parsed as JSON. */
  readonly isJson: boolean;
}

export interface RequestOptions {
  /** Serialised with JSON.stringify and sent with Content-Type: application/json. */
  readonly json?: unknown;
  /** Sent as is (no Content-Type unless given in headers). */
  readonly raw?: string | Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  readonly timeoutMs?: number;
}

export async function request(target: Target, method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  let body: string | Uint8Array | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.raw !== undefined) {
    body = options.raw;
  }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  const response = await fetch(`${target.baseUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(options.timeoutMs ?? 20_000),
  });
  const text = await response.text();
  let parsed: Json = undefined;
  let isJson = false;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
      isJson = true;
    } catch {
      parsed = undefined;
    }
  }
  return { status: response.status, headers: response.headers, text, body: parsed, isJson };
}

export const get = (target: Target, path: string, options: RequestOptions = {}): Promise<ApiResponse> => request(target, 'GET', path, options);
export const post = (target: Target, path: string, json: unknown, options: RequestOptions = {}): Promise<ApiResponse> =>
  request(target, 'POST', path, { ...options, json });

/** A short description of a response for assertion messages. */
export const describeResponse = (response: ApiResponse): string =>
  `${response.status} ${response.text.length > 600 ? `${response.text.slice(0, 600)}...` : response.text}`;

// ---------------------------------------------------------------------------------------------
// Ids

export const encodeId = (id: string): string => encodeURIComponent(id);

// ---------------------------------------------------------------------------------------------
// Events

export interface EnvelopeOverrides {
  readonly stream?: string;
  readonly source?: string;
  readonly timestamp?: number;
  readonly eventId?: string;
  readonly key?: string;
  readonly schema?: string;
}

export function envelope(entityId: string, properties: Record<string, unknown>, overrides: EnvelopeOverrides = {}): Record<string, unknown> {
  return {
    stream: overrides.stream ?? 'contract.tests',
    source: overrides.source ?? 'contract-suite',
    timestamp: overrides.timestamp ?? Date.now(),
    payload: { entity_id: entityId, properties },
    ...(overrides.eventId === undefined ? {} : { eventId: overrides.eventId }),
    ...(overrides.key === undefined ? {} : { key: overrides.key }),
    ...(overrides.schema === undefined ? {} : { schema: overrides.schema }),
  };
}

export interface PublishOptions extends EnvelopeOverrides {
  readonly token?: string;
}

/** POST /api/events with a valid envelope; returns the raw response (not asserted). */
export function publish(target: Target, entityId: string, properties: Record<string, unknown>, options: PublishOptions = {}): Promise<ApiResponse> {
  return request(target, 'POST', '/api/events', {
    json: envelope(entityId, properties, options),
    ...(options.token === undefined ? {} : { token: options.token }),
  });
}

/**
 * A @flux/client for the target (and token): the suite's ordinary calls go through the client
 * users get, so every suite exercises it; `request` stays for what a client would never send.
 */
export function clientOf(target: Target, token?: string): FluxClient {
  return new FluxClient({ url: target.baseUrl, ...(token === undefined ? {} : { token, adminToken: token }) });
}

/** Rethrows a client failure with what was being done, quoting the server's answer. */
async function expecting<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const detail = error instanceof FluxHttpError ? `HTTP ${error.status} ${JSON.stringify(error.body)}` : String(error);
    throw new Error(`${what}: ${detail}`, { cause: error });
  }
}

/** POST /api/events (through @flux/client) and fail unless it answered 200. */
export async function publishOk(
  target: Target,
  entityId: string,
  properties: Record<string, unknown>,
  options: PublishOptions = {},
): Promise<{ eventId: string; stream: string }> {
  const { token, ...overrides } = options;
  const event = envelope(entityId, properties, overrides) as unknown as EventEnvelope;
  return expecting(`publish ${entityId} expected 200`, () => clientOf(target, token).publishEvent(event));
}

/** POST /api/events/batch and fail unless it answered 200. */
export async function batchOk(target: Target, events: readonly unknown[], token?: string): Promise<Json> {
  const response = await request(target, 'POST', '/api/events/batch', {
    json: { events },
    ...(token === undefined ? {} : { token }),
  });
  if (response.status !== 200) throw new Error(`batch expected 200, got ${describeResponse(response)}`);
  return response.body;
}

// ---------------------------------------------------------------------------------------------
// Waiting for asynchronous effects

export async function getEntity(target: Target, id: string): Promise<ApiResponse> {
  return await get(target, `/api/state/entities/${encodeId(id)}`);
}

/** Waits (reading through @flux/client) until the entity exists and satisfies `predicate`; resolves with it. */
export async function waitForEntity(
  target: Target,
  id: string,
  predicate: (entity: Json) => boolean = () => true,
  options: WaitOptions = {},
): Promise<Json> {
  const client = clientOf(target);
  let lastSeen = 'nothing';
  try {
    return await waitFor(
      async () => {
        const entity = await client.get(id);
        lastSeen = JSON.stringify(entity) ?? 'no entity (404)';
        return entity !== undefined && predicate(entity) ? (entity as Json) : undefined;
      },
      { what: `entity ${id}`, ...options },
    );
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}; last seen: ${lastSeen.slice(0, 2_000)}`);
  }
}

/** Waits until the entity is gone (GET answers 404). */
export async function waitForGone(target: Target, id: string, options: WaitOptions = {}): Promise<void> {
  const client = clientOf(target);
  await waitFor(async () => (await client.get(id)) === undefined, { what: `entity ${id} to be gone`, ...options });
}

export async function listEntities(target: Target, query: Record<string, string> = {}, token?: string): Promise<Json[]> {
  const search = new URLSearchParams(query).toString();
  const response = await get(target, `/api/state/entities${search.length > 0 ? `?${search}` : ''}`, token === undefined ? {} : { token });
  if (response.status !== 200 || !Array.isArray(response.body)) throw new Error(`list expected 200 array, got ${describeResponse(response)}`);
  return response.body as Json[];
}

/** Registers a namespace through the admin API and returns its token. */
export async function registerNamespace(
  target: Target,
  name: string,
  adminToken?: string,
): Promise<{ namespaceId: string; name: string; token: string }> {
  return expecting(`register namespace ${name} expected 200`, () => clientOf(target, adminToken).namespaces.create(name));
}

/** Asserts the contract's error shape: a JSON object with a non-empty string `error`. */
export function errorShapeProblem(response: ApiResponse): string | undefined {
  const type = response.headers.get('content-type') ?? '';
  if (!type.includes('application/json')) return `content-type is "${type}", not application/json (body: ${response.text.slice(0, 200)})`;
  if (!response.isJson) return `body is not JSON: ${JSON.stringify(response.text.slice(0, 200))}`;
  const body = response.body as Json;
  if (typeof body !== 'object' || body === null || typeof body.error !== 'string' || body.error.length === 0) {
    return `body has no non-empty string "error": ${response.text.slice(0, 200)}`;
  }
  if (/\n\s+at\s|node_modules|\.ts:\d+/.test(response.text)) return `body leaks a stack trace: ${response.text.slice(0, 300)}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Ids, formats and waiting

let counter = 0;

/** A lowercase id fragment unique to this run: `<label>-<time>-<random>` (fits namespace names). */
export function unique(label: string): string {
  counter += 1;
  const suffix = `${Date.now().toString(36).slice(-5)}${counter.toString(36)}${randomBytes(3).toString('hex')}`;
  return `${label.slice(0, 32 - suffix.length - 1)}-${suffix}`;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** What is being waited for, for the failure message. */
  readonly what?: string;
}

/**
 * Polls `condition` until it returns a value other than undefined/false/null and resolves with
 * it. Exceptions count as "not yet". At the deadline it throws, quoting the last value/error.
 */
export async function waitFor<T>(
  condition: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== null && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolveDelay) => setTimeout(resolveDelay, intervalMs));
  }
  const detail = last instanceof Error ? last.message : JSON.stringify(last);
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'condition'} (last: ${detail})`);
}

export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
