/**
 * Errors of the client. Every one is a FluxError with a stable `code`: the server's own code
 * (`FLUX_VALIDATION`, `FLUX_NOT_FOUND`, ...) for HTTP errors, `FLUX_NETWORK` / `FLUX_TIMEOUT_CLIENT`
 * when no answer came, `FLUX_BAD_RESPONSE` when the answer was not what Flux sends.
 */

export const ClientErrorCode = {
  Network: 'FLUX_NETWORK',
  ClientTimeout: 'FLUX_TIMEOUT_CLIENT',
  BadResponse: 'FLUX_BAD_RESPONSE',
  Aborted: 'FLUX_ABORTED',
} as const;

export interface FluxErrorOptions {
  readonly cause?: unknown;
}

export class FluxError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options: FluxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FluxError';
    this.code = code;
  }
}

/** Statuses worth retrying later: rate limited, or the server (a part of it) is unavailable. */
const RETRYABLE_STATUSES = new Set([408, 429, 502, 503, 504]);

/** Flux answered with a 4xx or 5xx status. */
export class FluxHttpError extends FluxError {
  readonly status: number;
  /** The parsed error body (`{ error, code }` from Flux), or the raw text when it was not JSON. */
  readonly body: unknown;
  readonly method: string;
  readonly path: string;
  /** From `Retry-After` (429), in seconds. */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: { status: number; code: string; message: string; body: unknown; method: string; path: string; retryAfterSeconds?: number }) {
    super(init.code, init.message);
    this.name = 'FluxHttpError';
    this.status = init.status;
    this.body = init.body;
    this.method = init.method;
    this.path = init.path;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }

  get retryable(): boolean {
    return RETRYABLE_STATUSES.has(this.status);
  }
}

/** No HTTP answer: connection refused or reset, DNS failure, or the client's timeout. */
export class FluxNetworkError extends FluxError {
  readonly url: string;

  constructor(code: string, message: string, url: string, options: FluxErrorOptions = {}) {
    super(code, message, options);
    this.name = 'FluxNetworkError';
    this.url = url;
  }

  /** A request that got no answer may be retried (publishing again may then store it twice). */
  get retryable(): boolean {
    return this.code !== ClientErrorCode.Aborted;
  }
}

/** The client's own timeout (`timeoutMs`) passed before Flux answered. */
export class FluxTimeoutError extends FluxNetworkError {
  readonly timeoutMs: number;

  constructor(url: string, timeoutMs: number) {
    super(ClientErrorCode.ClientTimeout, `no answer from ${url} within ${timeoutMs} ms`, url);
    this.name = 'FluxTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** The code of an error answer without Flux's `{ error, code }` body (a proxy in between, say). */
export const fallbackCode = (status: number): string => `HTTP_${status}`;
