/**
 * Stable error codes. Transports map them to status codes (see `@flux/api`); the codes
 * themselves never change meaning, so clients and logs can rely on them.
 */
export const ErrorCode = {
  Validation: 'FLUX_VALIDATION',
  Unauthorized: 'FLUX_UNAUTHORIZED',
  Forbidden: 'FLUX_FORBIDDEN',
  NotFound: 'FLUX_NOT_FOUND',
  /** A point-in-time read (`at`) earlier than the entity's retained history reaches. */
  OutsideHistory: 'FLUX_OUTSIDE_HISTORY',
  Conflict: 'FLUX_CONFLICT',
  /**
   * An event's condition (if_version, if_absent) did not hold when its reducer applied it. Named
   * as the coordination contract names it, so agents match it without knowing Flux's prefix.
   */
  VersionConflict: 'version_conflict',
  RateLimited: 'FLUX_RATE_LIMITED',
  PayloadTooLarge: 'FLUX_PAYLOAD_TOO_LARGE',
  MethodNotAllowed: 'FLUX_METHOD_NOT_ALLOWED',
  /** The client did not send its request in time (slow or stalled clients are cut). */
  Timeout: 'FLUX_TIMEOUT',
  /** The server (or a part of it, such as the ingest gateway behind a query gateway) cannot serve now. */
  Unavailable: 'FLUX_UNAVAILABLE',
  LogUnavailable: 'FLUX_LOG_UNAVAILABLE',
  StoreUnavailable: 'FLUX_STORE_UNAVAILABLE',
  NotConfigured: 'FLUX_NOT_CONFIGURED',
  /** A URL given to Flux to fetch points at a loopback, private, link-local or reserved address. */
  AddressNotAllowed: 'FLUX_ADDRESS_NOT_ALLOWED',
  /** The OAuth routes of a connector whose OAuth app is not configured. */
  OAuthNotConfigured: 'FLUX_OAUTH_NOT_CONFIGURED',
  /** An OAuth callback whose `state` is unknown, expired or already used. */
  OAuthStateInvalid: 'FLUX_OAUTH_STATE_INVALID',
  /** The provider refused the code exchange (or a refresh), or answered something unusable. */
  OAuthExchangeFailed: 'FLUX_OAUTH_EXCHANGE_FAILED',
  Fenced: 'FLUX_FENCED',
  /** A wait for an event to be applied (wait=applied, min_position) ran out; the write itself is durable. */
  WaitTimeout: 'FLUX_WAIT_TIMEOUT',
  Internal: 'FLUX_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface FluxErrorOptions {
  readonly cause?: unknown;
  /** Seconds a client should wait before retrying (rate limiting). */
  readonly retryAfterSeconds?: number;
  /** Fields the error body carries besides `error` and `code` (e.g. `current_version`). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export class FluxError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterSeconds: number | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: FluxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FluxError';
    this.code = code;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details;
  }
}

export const isFluxError = (value: unknown): value is FluxError => value instanceof FluxError;

export const validationError = (message: string): FluxError => new FluxError(ErrorCode.Validation, message);
