import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, isFluxError } from '@flux/domain';
import { releaseUnreadBody } from './early-reply.js';
import { REQUEST_ID_HEADER } from './request-id.js';
import { RESPONSE_HEADERS } from './response-headers.js';

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  [ErrorCode.Validation]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.OutsideHistory]: 410,
  [ErrorCode.MethodNotAllowed]: 405,
  [ErrorCode.Timeout]: 408,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.AddressNotAllowed]: 400,
  [ErrorCode.VersionConflict]: 409,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.NotConfigured]: 500,
  [ErrorCode.OAuthNotConfigured]: 404,
  [ErrorCode.OAuthStateInvalid]: 400,
  [ErrorCode.OAuthExchangeFailed]: 502,
  [ErrorCode.Internal]: 500,
  [ErrorCode.LogUnavailable]: 503,
  [ErrorCode.StoreUnavailable]: 503,
  [ErrorCode.Fenced]: 503,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.WaitTimeout]: 504,
};

export const statusOf = (code: ErrorCode): number => STATUS_BY_CODE[code];

/**
 * What a client reads for a 5xx. The messages of server-side failures name hosts, ports and
 * drivers' errors; those stay in the log line, found by the response's x-request-id.
 */
const SERVER_ERROR_MESSAGES: Readonly<Partial<Record<ErrorCode, string>>> = {
  [ErrorCode.NotConfigured]: 'the server lacks a setting this request needs (e.g. FLUX_ENCRYPTION_KEY for connector credentials); see the server log',
  [ErrorCode.Internal]: 'internal server error',
  [ErrorCode.LogUnavailable]: 'event log unavailable, retry later',
  [ErrorCode.StoreUnavailable]: 'state store unavailable, retry later',
  [ErrorCode.Fenced]: 'this instance is being replaced, retry later',
  [ErrorCode.Unavailable]: 'service unavailable, retry later',
  [ErrorCode.WaitTimeout]: 'not applied within the time waited (the log holds the event); retry the read later',
};

/** The stable code of a status the framework answers on its own (malformed JSON, unknown route, ...). */
export function codeOfStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return ErrorCode.Unauthorized;
    case 403:
      return ErrorCode.Forbidden;
    case 404:
      return ErrorCode.NotFound;
    case 405:
      return ErrorCode.MethodNotAllowed;
    case 408:
      return ErrorCode.Timeout;
    case 409:
      return ErrorCode.Conflict;
    case 413:
      return ErrorCode.PayloadTooLarge;
    case 429:
      return ErrorCode.RateLimited;
    case 504:
      return ErrorCode.WaitTimeout;
    case 503:
      return ErrorCode.Unavailable;
    default:
      return status >= 500 ? ErrorCode.Internal : ErrorCode.Validation;
  }
}

/** The one shape of every error body. */
export interface ErrorBody {
  readonly error: string;
  readonly code: ErrorCode;
}

export const errorBody = (code: ErrorCode, message: string): ErrorBody => ({ error: message, code });

/**
 * The client-facing body of an error: its own message for 4xx, a fixed one per code for 5xx,
 * and the fields its details add (`current_version`, a position).
 */
export function clientErrorBody(code: ErrorCode, message: string, details?: Readonly<Record<string, unknown>>): ErrorBody {
  const body = errorBody(code, statusOf(code) >= 500 ? (SERVER_ERROR_MESSAGES[code] ?? 'internal server error') : message);
  return details === undefined ? body : { ...details, ...body };
}

/** Server-side codes that are an expected answer rather than a failure of the server. */
const EXPECTED_SERVER_CODES: ReadonlySet<ErrorCode> = new Set([ErrorCode.WaitTimeout]);

/** The client went away mid-request: nothing to answer and nothing wrong with the server. */
export function isClientAbort(error: unknown, request?: FastifyRequest): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED' || code === 'ERR_STREAM_PREMATURE_CLOSE') return true;
  if ((error as Error | null)?.message === 'aborted') return true;
  return request !== undefined && request.raw.destroyed && request.raw.socket?.destroyed === true;
}

/** HTTP methods a route can be registered for; OPTIONS is CORS's catch-all and tells nothing. */
const ROUTABLE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

export interface UnroutedAnswer {
  readonly status: 404 | 405;
  /** The Allow header of a 405. */
  readonly allow?: string;
  readonly body: ErrorBody;
}

/** The answer to a request no route takes: 405 with Allow when its path has routes for other methods, else 404. */
export function unroutedAnswer(app: FastifyInstance, method: string, path: string): UnroutedAnswer {
  const allowed = ROUTABLE_METHODS.filter((candidate) => app.findRoute({ method: candidate, url: path }) !== null);
  // A route of this very method that found nothing (a static file route) is a plain 404.
  if (allowed.length === 0 || allowed.includes(method as (typeof ROUTABLE_METHODS)[number]))
    return { status: 404, body: errorBody(ErrorCode.NotFound, `no route for ${method} ${path}`) };
  const allow = allowed.join(', ');
  return { status: 405, allow, body: errorBody(ErrorCode.MethodNotAllowed, `${method} is not allowed on ${path}; use ${allow}`) };
}

function sendError(request: FastifyRequest, reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  releaseUnreadBody(request, reply);
  return reply.code(status).send(body);
}

/**
 * Every error leaves as `{"error": "...", "code": "FLUX_..."}` with a fitting status,
 * including the framework's own (malformed JSON, unknown route, wrong method); 5xx bodies
 * carry a fixed message per code and the details go to the log with the request id.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isFluxError(error)) {
      const status = statusOf(error.code);
      if (error.retryAfterSeconds !== undefined) reply.header('Retry-After', String(error.retryAfterSeconds));
      if (EXPECTED_SERVER_CODES.has(error.code)) request.log.warn({ code: error.code }, error.message);
      else if (status >= 500) request.log.error({ err: error, code: error.code }, error.message);
      return sendError(request, reply, status, clientErrorBody(error.code, error.message, error.details));
    }
    if (isClientAbort(error, request)) {
      request.log.debug({ reason: error.message }, 'client aborted the request');
      return sendError(request, reply, 400, errorBody(ErrorCode.Validation, 'request aborted'));
    }
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
    const code = codeOfStatus(status);
    if (status >= 500) {
      request.log.error({ err: error, code }, 'request failed');
      return sendError(request, reply, status, clientErrorBody(code, error.message));
    }
    return sendError(request, reply, status, errorBody(code, error.message));
  });

  app.setNotFoundHandler((request, reply) => answerUnrouted(app, request, reply));
}

/** Answers a request no route takes (404, or 405 with Allow). */
export function answerUnrouted(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const answer = unroutedAnswer(app, request.method, request.url.split('?')[0] ?? '');
  if (answer.allow !== undefined) reply.header('Allow', answer.allow);
  return sendError(request, reply, answer.status, answer.body);
}

/** Errors Fastify's router raises before any hook runs, with what a client is told of them. */
const FRAMEWORK_ERRORS: Readonly<Record<string, { readonly status: number; readonly message: string }>> = {
  FST_ERR_BAD_URL: { status: 400, message: 'the URL is not valid percent-encoding' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, message: 'a path segment of the URL is too long' },
};

/** Fastify's frameworkErrors: the router's own errors in the same shape, with the same headers, as every other. */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const known = FRAMEWORK_ERRORS[error.code];
  const status = known?.status ?? 500;
  if (known === undefined) request.log.error({ err: error }, 'router failed');
  void reply.headers(RESPONSE_HEADERS).header(REQUEST_ID_HEADER, request.id);
  void sendError(request, reply, status, clientErrorBody(codeOfStatus(status), known?.message ?? error.message));
}

/**
 * Errors on an established WebSocket: protocol violations by the client (bad frames, oversized
 * messages; ws codes `WS_ERR_*`) and unclean disconnects are the client's doing and logged at
 * info, not as server errors with a stack. Either way the socket is terminated.
 */
export function websocketErrorHandler(error: Error, socket: { terminate(): void }, request: FastifyRequest): void {
  const code = (error as { code?: unknown }).code;
  if ((typeof code === 'string' && code.startsWith('WS_ERR_')) || isClientAbort(error)) {
    request.log.info({ reason: error.message, code }, 'websocket closed on a client protocol error');
  } else {
    request.log.error({ err: error }, 'websocket failed');
  }
  socket.terminate();
}
