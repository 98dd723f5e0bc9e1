import type { FastifyError, FastifyInstance } from 'fastify';
import { ErrorCode, isFluxError } from '@flux/domain';

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  [ErrorCode.Validation]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.NotConfigured]: 500,
  [ErrorCode.Internal]: 500,
  [ErrorCode.LogUnavailable]: 503,
  [ErrorCode.StoreUnavailable]: 503,
  [ErrorCode.Fenced]: 503,
};

export const statusOf = (code: ErrorCode): number => STATUS_BY_CODE[code];

/**
 * Every error leaves as `{"error": "..."}` with a fitting status, including the framework's
 * own (malformed JSON, unknown route, unsupported media type); 5xx details stay in the log.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isFluxError(error)) {
      const status = statusOf(error.code);
      if (error.retryAfterSeconds !== undefined) reply.header('Retry-After', String(error.retryAfterSeconds));
      if (status >= 500) request.log.error({ err: error }, error.message);
      return reply.code(status).send({ error: error.message });
    }
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(status).send({ error: 'internal server error' });
    }
    return reply.code(status).send({ error: error.message });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route for ${request.method} ${request.url.split('?')[0] ?? ''}` }),
  );
}
