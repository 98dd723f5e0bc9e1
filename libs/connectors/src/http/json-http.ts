/** Conditional JSON GETs over Node's fetch: validators, timeouts, size cap, Link pagination. */

export interface Validators {
  readonly etag?: string;
  readonly lastModified?: string;
}

export interface JsonGetOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as If-None-Match / If-Modified-Since. */
  readonly validators?: Validators;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** Largest body accepted, in bytes. */
  readonly maxBytes?: number;
  /** Replaces the global fetch (tests). */
  readonly fetch?: typeof fetch;
}

export type JsonGetResult =
  | { readonly notModified: true; readonly status: 304; readonly headers: Headers }
  | {
      readonly notModified: false;
      readonly status: number;
      readonly headers: Headers;
      readonly body: unknown;
      readonly validators: Validators;
    };

/** The server answered with a status other than 2xx or 304. */
export class HttpStatusError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    readonly headers: Headers,
    /** The server's own message (JSON `message` or the start of the body), possibly empty. */
    readonly detail: string,
  ) {
    super(`${new URL(url).pathname} answered ${status}${detail === '' ? '' : `: ${detail}`}`);
    this.name = 'HttpStatusError';
  }
}

export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_MAX_BYTES = 20 * 1024 * 1024;

export async function getJson(url: string, options: JsonGetOptions = {}): Promise<JsonGetResult> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.validators?.etag !== undefined) headers['if-none-match'] = options.validators.etag;
  if (options.validators?.lastModified !== undefined) headers['if-modified-since'] = options.validators.lastModified;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(url, { method: 'GET', headers, signal, redirect: 'follow' });
  } catch (error) {
    if (options.signal?.aborted === true) throw error;
    if (timeout.aborted) throw new Error(`${url} did not answer within ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`, { cause: error });
    throw new Error(`${url} could not be reached: ${messageOf(error)}`, { cause: error });
  }
  if (response.status === 304) {
    await response.body?.cancel();
    return { notModified: true, status: 304, headers: response.headers };
  }
  const text = await readText(response, options.maxBytes ?? DEFAULT_MAX_BYTES, url);
  if (response.status < 200 || response.status > 299) {
    throw new HttpStatusError(url, response.status, response.headers, detailOf(text));
  }
  let body: unknown;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch (error) {
    throw new Error(`${url} answered ${response.status} with a body that is not JSON`, { cause: error });
  }
  const etag = response.headers.get('etag') ?? undefined;
  const lastModified = response.headers.get('last-modified') ?? undefined;
  return {
    notModified: false,
    status: response.status,
    headers: response.headers,
    body,
    validators: { ...(etag === undefined ? {} : { etag }), ...(lastModified === undefined ? {} : { lastModified }) },
  };
}

async function readText(response: Response, maxBytes: number, url: string): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new Error(`${url} answered with ${declared} bytes, more than the ${maxBytes} accepted`);
  }
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new Error(`${url} answered with more than the ${maxBytes} bytes accepted`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function detailOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message.slice(0, 200);
  } catch {
    /* not JSON */
  }
  return text.trim().slice(0, 200);
}

export const messageOf = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
};

/**
 * The `rel="next"` target of a Link header (RFC 8288), resolved against `base`. Only links to
 * the same origin are followed: a credential is never sent to another host.
 */
export function nextLink(link: string | null, base: string): string | undefined {
  if (link === null) return undefined;
  for (const part of link.split(',')) {
    const match = /<([^>]*)>((?:\s*;\s*[^;]+)*)/.exec(part.trim());
    if (match === null) continue;
    const params = match[2] ?? '';
    if (!/;\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?/i.test(params)) continue;
    try {
      const target = new URL(match[1] ?? '', base);
      return target.origin === new URL(base).origin ? target.toString() : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
