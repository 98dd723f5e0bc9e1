import { ClientErrorCode, fallbackCode, FluxError, FluxHttpError, FluxNetworkError, FluxTimeoutError } from './errors.js';

export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

export interface TransportOptions {
  /** Base URL without trailing slash. */
  readonly baseUrl: string;
  readonly fetch: FetchFunction;
  readonly timeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface RequestSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path with its query string, already encoded. */
  readonly path: string;
  /** Serialised as JSON unless already a string. */
  readonly body?: unknown;
  /** Bearer token for this request; none when undefined. */
  readonly token?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** `text` for the few answers that are not JSON (`/metrics`). */
  readonly responseType?: 'json' | 'text';
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON (undefined for an empty body), or the text when asked for. */
  readonly body: unknown;
}

/** `path?a=1&b=2` from the defined values only. */
export function withQuery(path: string, query: Readonly<Record<string, string | number | undefined>>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

function parseBody(text: string, spec: RequestSpec, status: number): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    if (status >= 400) return text;
    throw new FluxError(ClientErrorCode.BadResponse, `${spec.method} ${spec.path}: answer ${status} is not JSON: ${text.slice(0, 200)}`, {
      cause: error,
    });
  }
}

function httpError(spec: RequestSpec, status: number, headers: Headers, body: unknown): FluxHttpError {
  const fields = typeof body === 'object' && body !== null ? (body as { error?: unknown; code?: unknown }) : {};
  const message = typeof fields.error === 'string' ? fields.error : typeof body === 'string' && body !== '' ? body.slice(0, 500) : `HTTP ${status}`;
  const code = typeof fields.code === 'string' ? fields.code : fallbackCode(status);
  const retryAfter = Number(headers.get('retry-after') ?? Number.NaN);
  return new FluxHttpError({
    status,
    code,
    message,
    body,
    method: spec.method,
    path: spec.path,
    ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
  });
}

/**
 * One HTTP exchange with Flux: JSON in, JSON out, every failure as a FluxError. `accept` lists
 * error statuses the caller handles itself (404 for get) instead of receiving an exception.
 */
export async function send(options: TransportOptions, spec: RequestSpec, accept: readonly number[] = []): Promise<RawResponse> {
  const url = `${options.baseUrl}${spec.path}`;
  const headers: Record<string, string> = { accept: spec.responseType === 'text' ? 'text/plain' : 'application/json', ...options.headers };
  if (spec.token !== undefined && spec.token !== '') headers.authorization = `Bearer ${spec.token}`;
  let body: string | undefined;
  if (spec.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body);
  }
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = spec.signal === undefined ? timeout : AbortSignal.any([timeout, spec.signal]);
  let status: number;
  let responseHeaders: Headers;
  let text: string;
  try {
    const response = await options.fetch(url, { method: spec.method, headers, signal, ...(body === undefined ? {} : { body }) });
    status = response.status;
    responseHeaders = response.headers;
    text = await response.text();
  } catch (error) {
    if (timeout.aborted) throw new FluxTimeoutError(url, options.timeoutMs);
    if (spec.signal?.aborted === true) throw new FluxNetworkError(ClientErrorCode.Aborted, `${spec.method} ${url} aborted`, url, { cause: error });
    throw new FluxNetworkError(ClientErrorCode.Network, `could not reach Flux at ${options.baseUrl}: ${describeCause(error)}`, url, { cause: error });
  }
  const parsed = spec.responseType === 'text' && status < 400 ? text : parseBody(text, spec, status);
  if (status >= 400 && !accept.includes(status)) throw httpError(spec, status, responseHeaders, parsed);
  return { status, headers: responseHeaders, body: parsed };
}

/** fetch's own message ("fetch failed") hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, ...). */
function describeCause(error: unknown): string {
  let current: unknown = error;
  let message = 'request failed';
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    message = typeof code === 'string' ? `${code} (${current.message})` : current.message;
    current = current.cause;
  }
  return message;
}
