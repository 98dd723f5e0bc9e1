import type { FastifyInstance, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import { ErrorCode, FluxError } from '@flux/domain';
import type { QueryDeps } from '../api-deps.js';
import { routeDoc } from '../http/doc-schema.js';
import { errorBody, websocketErrorHandler } from '../http/errors.js';
import { WebSocketHub } from './websocket-hub.js';

/** Largest client message accepted (subscribe/unsubscribe are tiny). */
export const MAX_CLIENT_MESSAGE_BYTES = 64 * 1024;

/** The messages of `GET /api/ws`, for the OpenAPI document (which cannot describe them as schemas). */
const WEBSOCKET_PROTOCOL = [
  'Client messages (JSON text frames; anything else is ignored):',
  '- `{"type":"subscribe","entity_id":"<id>"}` (`"*"`: every entity), `{"type":"unsubscribe","entity_id":"<id>"}`. A connection that never subscribed receives every update.',
  '- `{"type":"subscribe","prefix":"<prefix>","snapshot":true}`: every entity whose id starts with the prefix, first as `entity_snapshot` messages, then its changes, with no gap and no duplicate between the two.',
  '- `{"type":"subscribe","prefix":"<prefix>","since":["<position>",...]}`: every change of those entities after the positions (one per partition), then live changes.',
  '- `{"type":"subscribe","prefix":"<prefix>"}`: their changes from now on; `{"type":"unsubscribe","prefix":"<prefix>"}`.',
  '- Any prefix subscription may add `"filter":"<expression>"` (the language of `GET /api/state/entities?filter=`): snapshots hold the matching entities, and a change or deletion arrives when its entity matched before it or matches after it, so entities are seen entering and leaving the result (at most 8 filtered subscriptions per connection).',
  'Server messages: `state_update` {entity_id, property, value, timestamp, position}, `entity_deleted` {entity_id, timestamp, position}, `metrics_update`;',
  'for prefix subscriptions `subscribing` {prefix} (at once), `entity_snapshot` {entity_id, entity|null, position}, `subscribed` {prefix, since: [position per partition]} (live from here; resume with it),',
  '`resync_required` {prefix, reason} (the position is older than the changes kept: subscribe again with snapshot), `subscription_error` {prefix, error}.',
  'In public mode a prefix starts with a namespace and "/". A connection holds at most 64 non-overlapping prefix subscriptions.',
].join('\n');

/**
 * `GET /api/ws`: state_update / entity_deleted from the change feed, and metrics_update
 * every interval to every connection. @fastify/websocket is registered in a scope of its own
 * with this one route: registered on the whole server it wraps every route's handler, a cost
 * each REST request paid for nothing.
 */
export function websocketRoutes(app: FastifyInstance, deps: QueryDeps): WebSocketHub {
  const metrics = deps.metrics.websocketMetrics();
  const hub = new WebSocketHub({
    maxBufferedBytes: deps.websocket.maxBufferedBytes,
    maxSubscriptionBytes: deps.websocket.maxSubscriptionBytes,
    onSlowConsumer: () => metrics.slowConsumers.inc(),
    onConnectionCount: (count) => metrics.connections.set(count),
    ...(deps.replay === undefined
      ? {}
      : {
          prefixes: {
            partitionCount: deps.partitionCount,
            replay: deps.replay,
            reader: deps.reader,
            publicMode: deps.authorizer.authEnabled,
            onError: (error: unknown, prefix: string) => app.log.warn({ err: error, prefix }, 'prefix subscription could not catch up'),
          },
        }),
  });
  const unsubscribe = deps.feed.subscribe((changes) => {
    // A commit may carry only progress (its events changed nothing): nothing to send.
    if (changes.length > 0) hub.publishChanges(changes);
  });

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

  const admitAddress = addressLimit(deps.websocket.maxConnectionsPerAddress);

  app.register(async (scope) => {
    await scope.register(websocket, { options: { maxPayload: MAX_CLIENT_MESSAGE_BYTES }, errorHandler: websocketErrorHandler });
    scope.route({
      method: 'GET',
      url: '/api/ws',
      schema: routeDoc({
        summary: 'WebSocket: state_update, entity_deleted (each with the position token of its change) and metrics_update messages',
        description: WEBSOCKET_PROTOCOL,
        tags: ['websocket'],
        responses: {
          101: 'Switching protocols',
          426: 'Not a WebSocket upgrade request',
          429: 'Too many WebSocket connections from this client address',
        },
      }),
      preValidation: async (request) => admitAddress(request),
      handler: async (_request, reply) =>
        reply
          .code(426)
          .header('Upgrade', 'websocket')
          .send(errorBody(ErrorCode.Validation, 'this endpoint speaks WebSocket: send an Upgrade request')),
      wsHandler: (socket) => hub.add(socket),
    });
  });
  return hub;
}

/**
 * Counts upgrade requests per client address until their TCP connection closes, and refuses
 * one past `max` (0: no limit) with a 429 before the upgrade. Counted at the request rather
 * than once the socket opened, so a burst of simultaneous upgrades cannot slip past.
 */
function addressLimit(max: number): (request: FastifyRequest) => void {
  const open = new Map<string, number>();
  return (request) => {
    if (max === 0 || !request.ws) return;
    const address = request.ip;
    const count = open.get(address) ?? 0;
    if (count >= max) {
      throw new FluxError(ErrorCode.RateLimited, `too many WebSocket connections from this address (at most ${max})`);
    }
    open.set(address, count + 1);
    request.raw.socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  };
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
