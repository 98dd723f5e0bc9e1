import type { FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { QueryDeps } from '../api-deps.js';
import { routeDoc } from '../http/doc-schema.js';
import { websocketErrorHandler } from '../http/errors.js';
import { WebSocketHub } from './websocket-hub.js';

/** Largest client message accepted (subscribe/unsubscribe are tiny). */
export const MAX_CLIENT_MESSAGE_BYTES = 64 * 1024;

/**
 * `GET /api/ws`: state_update / entity_deleted from the change feed, and metrics_update
 * every interval to every connection. @fastify/websocket is registered in a scope of its own
 * with this one route: registered on the whole server it wraps every route's handler, a cost
 * each REST request paid for nothing.
 */
export function websocketRoutes(app: FastifyInstance, deps: QueryDeps): WebSocketHub {
  const hub = new WebSocketHub({
    maxBufferedBytes: deps.websocket.maxBufferedBytes,
    onSlowConsumer: () => deps.metrics.websocketSlowConsumers.inc(),
    onConnectionCount: (count) => deps.metrics.websocketConnections.set(count),
  });
  const unsubscribe = deps.feed.subscribe((changes) => hub.publishChanges(changes));

  const timer = setInterval(() => {
    if (hub.size === 0) return;
    void metricsMessage(deps, hub.size).then(
      (message) => hub.broadcast(message),
      (error: unknown) => app.log.warn({ err: error }, 'metrics_update skipped'),
    );
  }, deps.websocket.metricsIntervalMs);
  timer.unref();

  app.addHook('onClose', async () => {
    clearInterval(timer);
    unsubscribe();
    hub.closeAll();
  });

  app.register(async (scope) => {
    await scope.register(websocket, { options: { maxPayload: MAX_CLIENT_MESSAGE_BYTES }, errorHandler: websocketErrorHandler });
    scope.route({
      method: 'GET',
      url: '/api/ws',
      schema: routeDoc({
        summary: 'WebSocket: state_update, entity_deleted and metrics_update messages',
        tags: ['websocket'],
        responses: { 101: 'Switching protocols', 426: 'Not a WebSocket upgrade request' },
      }),
      handler: async (_request, reply) =>
        reply.code(426).header('Upgrade', 'websocket').send({ error: 'this endpoint speaks WebSocket: send an Upgrade request' }),
      wsHandler: (socket) => hub.add(socket),
    });
  });
  return hub;
}

async function metricsMessage(deps: QueryDeps, localConnections: number): Promise<object> {
  const [counts, eventsTotal, connections] = await Promise.all([
    deps.reader.counts(),
    deps.reader.eventsApplied(),
    deps.websocket.totalConnections?.(localConnections) ?? Promise.resolve(localConnections),
  ]);
  const activity = deps.activity.snapshot();
  return {
    type: 'metrics_update',
    timestamp: new Date().toISOString(),
    entities: { total: counts.total },
    events: { total: eventsTotal, rate_per_second: activity.ratePerSecond },
    websocket: { connections },
    publishers: { active: activity.activePublishers },
  };
}
