import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '@flux/domain';
import type { Registry } from 'prom-client';

export interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
}

export interface MetricsServerOptions {
  readonly registry: Registry;
  readonly readiness: () => Readiness;
  readonly host: string;
  /** 0 picks a free port (see `port`). */
  readonly port: number;
}

export interface MetricsServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops listening and ends open connections (a scraper's keep-alive included). */
  close(): Promise<void>;
}

const ROUTES = new Set(['/metrics', '/health', '/ready']);

function send(response: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  response.end(head ? undefined : body);
}

const json = (response: ServerResponse, status: number, body: object, head: boolean): void =>
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(body), head);

/**
 * The HTTP endpoints of a process that serves no HTTP API (a reducer): `GET /metrics` in the
 * Prometheus text format, `/health` (the process answers) and `/ready` (as the process says),
 * with the bodies and error shape of the gateways' routes, so probes and scrapers treat every
 * role alike. Plain node:http: three routes need no framework.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry, readiness } = options;
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?')[0]!;
    const head = request.method === 'HEAD';
    if (!ROUTES.has(path)) return json(response, 404, { error: `no route ${path}`, code: ErrorCode.NotFound }, head);
    if (request.method !== 'GET' && !head) {
      response.setHeader('allow', 'GET, HEAD');
      return json(response, 405, { error: `${request.method} is not allowed on ${path}`, code: ErrorCode.MethodNotAllowed }, head);
    }
    if (path === '/health') return json(response, 200, { status: 'ok' }, head);
    if (path === '/ready') {
      const state = readiness();
      if (state.ready) return json(response, 200, { status: 'ready' }, head);
      return json(response, 503, { error: `not ready: ${state.reason ?? 'starting'}`, code: ErrorCode.Unavailable }, head);
    }
    send(response, 200, registry.contentType, await registry.metrics(), head);
  };
  const server = createServer((request, response) => {
    // The body of a GET is not read: drain it so the connection can be reused.
    request.resume();
    handle(request, response).catch(() => {
      if (!response.headersSent) json(response, 500, { error: 'internal server error', code: ErrorCode.Internal }, false);
      else response.destroy();
    });
  });
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: async () => {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}
