import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import { MAX_BODY_LIMIT_BYTES } from '@flux/domain';
import type { HttpTimeouts } from '@flux/core';
import type { IngestDeps, McpEndpoint, QueryDeps, SystemDeps } from './api-deps.js';
import { registerJsonBodyParser } from './http/body-parser.js';
import { answerClientError } from './http/client-errors.js';
import { answerUnrouted, frameworkErrorHandler, registerErrorHandling } from './http/errors.js';
import { REQUEST_ID_HEADER, requestIdOf } from './http/request-id.js';
import { registerCorsPreflight } from './http/cors.js';
import { RESPONSE_HEADERS } from './http/response-headers.js';
import { forwardIngestRoutes } from './http/ingest-forwarding.js';
import { adminRoutes } from './routes/admin-routes.js';
import { connectorOAuthRoutes } from './routes/connector-oauth-routes.js';
import { connectorRoutes } from './routes/connector-routes.js';
import { sourceRoutes } from './routes/source-routes.js';
import { dashboardRoutes, type DashboardOptions } from './routes/dashboard-routes.js';
import { historyRoutes, publishRoutes } from './routes/event-routes.js';
import { mcpRoutes } from './routes/mcp-routes.js';
import { namespaceRoutes } from './routes/namespace-routes.js';
import { entityDeleteRoutes, entityReadRoutes } from './routes/state-routes.js';
import { systemRoutes } from './routes/system-routes.js';
import { registerDrain } from './http/drain.js';
import type { WebSocketHub } from './websocket/websocket-hub.js';
import { websocketRoutes } from './websocket/websocket-routes.js';

export interface BuiltServer {
  readonly app: FastifyInstance;
  /** The WebSocket hub, when this server serves the read side. */
  readonly hub: WebSocketHub | undefined;
  /** Stops the server after draining keep-alive clients (see registerDrain); once. */
  close(): Promise<void>;
}

/**
 * Which routes a server serves. The embedded server serves both sides; the ingest gateway
 * only `ingest`; a query gateway serves `query` and forwards the write routes to an ingest gateway.
 */
export interface ServerRoles {
  readonly system: SystemDeps;
  readonly ingest?: IngestDeps | { readonly forwardTo: string };
  readonly query?: QueryDeps;
  /** Served at /mcp when given (by the embedded server and the query gateways). */
  readonly mcp?: McpEndpoint;
}

export interface BuildServerOptions {
  readonly logger: Logger;
  readonly version: string;
  /** Timeouts against slow and idle clients (the settings' `http`; defaults: DEFAULT_HTTP_TIMEOUTS). */
  readonly http?: HttpTimeouts;
  /** Serve the dashboard at `/` (with the query role only: it reads and watches). */
  readonly dashboard?: DashboardOptions;
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 72_000 };

/**
 * Bound of the request line plus headers (Node's default is 16 KiB). Every request the API
 * takes must fit with room to spare: a list query may carry a 512-character prefix and
 * namespace and a 4096-character cursor, and percent-encoding triples non-ASCII characters.
 */
const MAX_HEADER_BYTES = 64 * 1024;
/**
 * Longest path parameter the router matches (its default, 100, is shorter than an entity id):
 * a 512-character id percent-encoded as 3-byte UTF-8 is 4608 characters.
 */
const MAX_PARAM_CHARS = 8 * 1024;

/** The public API of the contract (or the part of it a role serves) as one Fastify instance. */
export async function buildServer(roles: ServerRoles, options: BuildServerOptions): Promise<BuiltServer> {
  const { system } = roles;
  const timeouts = options.http ?? DEFAULT_HTTP_TIMEOUTS;
  const app = Fastify({
    loggerInstance: options.logger,
    genReqId: requestIdOf,
    // Slow-loris defence: Node checks these deadlines only every connectionsCheckingInterval
    // (30 s by default), so the interval follows the shortest of them.
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    http: {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(timeouts.headersTimeoutMs / 4))),
    },
    // The real limits follow the runtime config (see body-parser); this is only the hard ceiling.
    bodyLimit: MAX_BODY_LIMIT_BYTES,
    // Per-request logs would dominate the hot path; errors are still logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    routerOptions: { maxParamLength: MAX_PARAM_CHARS },
    // Errors raised before a request reaches any hook leave in the same shape as all others.
    clientErrorHandler: answerClientError,
    frameworkErrors: frameworkErrorHandler,
  }) as unknown as FastifyInstance;

  // Route schemas document the API (OpenAPI); handlers validate with the domain's schemas so
  // every 400 names its field the same way, and responses are plain JSON.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // Every hook runs on every request, so the constant work of all responses is one callback
  // hook (not an async one: it needs no promise). Unrouted requests are answered here, before
  // Fastify would parse their body (and refuse some methods with a 400 of its own first).
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(RESPONSE_HEADERS);
    reply.header(REQUEST_ID_HEADER, request.id);
    if (request.is404) answerUnrouted(app, request, reply);
    else done();
  });
  registerErrorHandling(app);
  registerJsonBodyParser(app, system.runtimeConfig);
  let hub: WebSocketHub | undefined;
  const close = registerDrain(app, () => hub?.size ?? 0);

  await registerCorsPreflight(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Flux', description: 'A persistent, shared, event-sourced world state engine', version: options.version },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });

  const requestDuration = system.metrics.httpRequests();
  app.addHook('onResponse', (request, reply, done) => {
    requestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  if (roles.ingest !== undefined) {
    if ('forwardTo' in roles.ingest) {
      await forwardIngestRoutes(app, roles.ingest.forwardTo);
    } else {
      publishRoutes(app, roles.ingest);
      entityDeleteRoutes(app, roles.ingest);
    }
  }
  if (roles.query !== undefined) {
    historyRoutes(app, roles.query);
    entityReadRoutes(app, roles.query);
    namespaceRoutes(app, roles.query);
    adminRoutes(app, roles.query);
    connectorRoutes(app, roles.query);
    connectorOAuthRoutes(app, roles.query);
    sourceRoutes(app, roles.query);
    hub = websocketRoutes(app, roles.query);
    if (options.dashboard !== undefined) await dashboardRoutes(app, options.dashboard);
  }
  if (roles.mcp !== undefined) mcpRoutes(app, roles.mcp, system.metrics);
  systemRoutes(app, system);
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  return { app, hub, close };
}
