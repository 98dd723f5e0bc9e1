import type { FastifyInstance } from 'fastify';
import replyFrom from '@fastify/reply-from';
import { BATCH_URL, EVENTS_URL } from '../routes/event-routes.js';
import { BATCH_DELETE_URL, ENTITY_URL, ENTITY_WILDCARD_URL } from '../routes/state-routes.js';

/** The write routes, served by the ingest gateway and forwarded to it by query gateways. */
export const INGEST_ROUTES = [
  { method: 'POST', url: EVENTS_URL },
  { method: 'POST', url: BATCH_URL },
  { method: 'DELETE', url: ENTITY_URL },
  { method: 'DELETE', url: ENTITY_WILDCARD_URL },
  { method: 'POST', url: BATCH_DELETE_URL },
] as const;

/**
 * Forwards the write routes to an ingest gateway, so one public address serves the whole API.
 * Bodies are streamed through unparsed: the ingest gateway validates and enforces the limits.
 */
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

export async function forwardIngestRoutes(app: FastifyInstance, ingestUrl: string): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(replyFrom, {
      base: ingestUrl,
      undici: { connections: 64, pipelining: 1, keepAliveTimeout: 60_000 },
    });
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    for (const { method, url } of INGEST_ROUTES) {
      scope.route({
        method,
        url,
        schema: { hide: true },
        handler: (request, reply) =>
          reply.from(request.url, {
            onError: (failed, { error }) => {
              failed.log.warn({ err: error }, 'ingest gateway unreachable');
              void failed.code(503).send({ error: 'ingest gateway unavailable, retry later' });
            },
          }),
      });
    }
  });
}
