import type { FastifyInstance } from 'fastify';
import cors, { type FastifyCorsOptions } from '@fastify/cors';
import { MCP_CORS_EXPOSED_HEADERS, MCP_CORS_REQUEST_HEADERS, NEXT_CURSOR_HEADER, STALE_HEADER } from './header-names.js';
import { REQUEST_ID_HEADER } from './request-id.js';

/**
 * Any origin may call the API: it authenticates with bearer tokens, never cookies, so a
 * page elsewhere gains nothing it could not do with the token itself.
 */
export const CORS_OPTIONS = {
  origin: '*',
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
  allowedHeaders: ['Authorization', 'Content-Type', REQUEST_ID_HEADER, ...MCP_CORS_REQUEST_HEADERS],
  exposedHeaders: [
    NEXT_CURSOR_HEADER,
    REQUEST_ID_HEADER,
    STALE_HEADER,
    'Retry-After',
    'X-RateLimit-Limit',
    'X-RateLimit-Remaining',
    'X-RateLimit-Reset',
    ...MCP_CORS_EXPOSED_HEADERS,
  ],
  maxAge: 86_400,
} as const satisfies FastifyCorsOptions;

/**
 * What CORS adds to every response that is not a preflight. With a fixed origin these never
 * depend on the request, so they are sent with the other constant headers (see
 * RESPONSE_HEADERS) instead of by a hook of the plugin's that works them out per request.
 */
export const CORS_RESPONSE_HEADERS = {
  'access-control-allow-origin': CORS_OPTIONS.origin,
  'access-control-expose-headers': CORS_OPTIONS.exposedHeaders.join(', '),
} as const;

/**
 * Preflights (`OPTIONS` on any path) are answered by @fastify/cors, registered in a scope of
 * its own so that its per-request hook runs for them only.
 */
export async function registerCorsPreflight(app: FastifyInstance): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(cors, CORS_OPTIONS);
  });
}
