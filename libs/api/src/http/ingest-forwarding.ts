import type { FastifyInstance } from 'fastify';
import replyFrom from '@fastify/reply-from';
import { ErrorCode } from '@flux/domain';
import { REQUEST_ID_HEADER } from './request-id.js';
import { releaseUnreadBody } from './early-reply.js';
import { errorBody } from './errors.js';
import { BATCH_DOC, BATCH_URL, EVENTS_URL, PUBLISH_DOC } from '../routes/event-routes.js';
import { BATCH_DELETE_DOC, BATCH_DELETE_URL, DELETE_ONE_DOC, ENTITY_URL, ENTITY_WILDCARD_URL } from '../routes/state-routes.js';

/** The write routes, served by the ingest gateway and forwarded to it by query gateways. */
export const INGEST_ROUTES = [
  { method: 'POST', url: EVENTS_URL, schema: PUBLISH_DOC },
  { method: 'POST', url: BATCH_URL, schema: BATCH_DOC },
  { method: 'DELETE', url: ENTITY_URL, schema: DELETE_ONE_DOC },
  { method: 'DELETE', url: ENTITY_WILDCARD_URL, schema: { hide: true } },
  { method: 'POST', url: BATCH_DELETE_URL, schema: BATCH_DELETE_DOC },
] as const;

/** Whether the ingest gateway answers its readiness probe (part of a query gateway's readiness). */
export async function ingestGatewayReady(ingestUrl: string): Promise<boolean> {
  try {
    const response = await fetch(new URL('/ready', ingestUrl), { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/**
 * Forwards the write routes to an ingest gateway, so one public address serves the whole API.
 * Bodies are streamed through unparsed: the ingest gateway validates and enforces the limits.
 * The request id goes along, so both gateways log a request under the same id.
 */
export async function forwardIngestRoutes(app: FastifyInstance, ingestUrl: string): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(replyFrom, {
      base: ingestUrl,
      undici: { connections: 64, pipelining: 1, keepAliveTimeout: 60_000 },
    });
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    // Documented like the routes they forward to, so the OpenAPI of every gateway is complete.
    for (const { method, url, schema } of INGEST_ROUTES) {
      scope.route({
        method,
        url,
        schema,
        handler: (request, reply) =>
          reply.from(request.url, {
            rewriteRequestHeaders: (_original, headers) => ({ ...headers, [REQUEST_ID_HEADER]: request.id }),
            onError: (failed, { error }) => {
              failed.log.warn({ err: error }, 'ingest gateway unreachable');
              // The body was being streamed to the gateway and is left half read: without
              // this the connection's next request would never be answered.
              releaseUnreadBody(request, reply);
              void failed.code(503).send(errorBody(ErrorCode.Unavailable, 'ingest gateway unavailable, retry later'));
            },
          }),
      });
    }
  });
}
