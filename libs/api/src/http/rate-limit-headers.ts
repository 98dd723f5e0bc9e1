import type { FastifyReply } from 'fastify';
import type { RateLimitStatus } from '@flux/core';

/** Sets the X-RateLimit-* headers (exposed to browsers by CORS) from the caller's bucket. */
export const rateLimitHeaders =
  (reply: FastifyReply) =>
  (status: RateLimitStatus): void => {
    reply.header('X-RateLimit-Limit', String(status.limit));
    reply.header('X-RateLimit-Remaining', String(status.remaining));
    reply.header('X-RateLimit-Reset', String(status.resetSeconds));
  };
