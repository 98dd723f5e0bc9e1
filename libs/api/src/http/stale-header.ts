import type { FastifyInstance, FastifyRequest } from 'fastify';
import { trackStaleReads, type StaleReadTracker } from '@flux/core';
import { STALE_HEADER } from './header-names.js';

/**
 * Runs each request in its own stale-read scope and answers `Flux-Stale: true` when a reader
 * under it served from a fallback (see FallbackStateReader). For servers whose reads can fall back.
 */
export function registerStaleHeader(app: FastifyInstance): void {
  const trackers = new WeakMap<FastifyRequest, StaleReadTracker>();
  app.addHook('onRequest', (request, _reply, done) => {
    const tracker: StaleReadTracker = { stale: false };
    trackers.set(request, tracker);
    // The rest of the request's lifecycle runs inside this scope.
    trackStaleReads(tracker, done);
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (trackers.get(request)?.stale === true) void reply.header(STALE_HEADER, 'true');
    return payload;
  });
}
