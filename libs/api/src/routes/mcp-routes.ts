import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '@flux/domain';
import type { FluxMetrics } from '@flux/core';
import type { McpEndpoint } from '../api-deps.js';
import { clientErrorBody } from '../http/errors.js';

export const MCP_URL = '/mcp';

/**
 * Where this server's own API answers: its listening address, the unspecified ones as loopback;
 * with `host`, that host at the listening port (the address other processes reach it at).
 */
export function selfUrl(address: AddressInfo | string | null, host?: string): string {
  if (address === null || typeof address === 'string') throw new Error('the MCP endpoint needs a TCP listener');
  host ??= address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/**
 * `/mcp`: MCP over streamable HTTP (POST messages, GET the notification stream, DELETE the
 * session). Left out of the OpenAPI document on purpose: it speaks JSON-RPC sessions that the
 * MCP specification describes, which an OpenAPI fuzzer cannot drive. The body limit is the
 * batch limit of the runtime config: a publish_batch call carries a batch of events.
 */
export function mcpRoutes(app: FastifyInstance, endpoint: McpEndpoint, metrics: FluxMetrics): void {
  metrics.mcpSessions(() => endpoint.sessionCount);
  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    // The transport writes the response itself; the headers set so far (CORS, security, request id) go with it.
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) reply.raw.setHeader(name, value);
    }
    // Notification streams must not sit in a proxy's buffer (nginx honours this header).
    reply.raw.setHeader('X-Accel-Buffering', 'no');
    reply.hijack();
    try {
      await endpoint.handle(request.raw, reply.raw, request.body, selfUrl(app.server.address()));
    } catch (error) {
      request.log.error({ err: error }, 'MCP request failed');
      if (reply.raw.headersSent) {
        reply.raw.destroy();
        return;
      }
      reply.raw.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      reply.raw.end(JSON.stringify(clientErrorBody(ErrorCode.Internal, 'internal server error')));
    }
  };
  app.route({ method: ['POST', 'GET', 'DELETE'], url: MCP_URL, config: { bodyLimit: 'batch' }, schema: { hide: true }, handler });
  // Before the server stops listening: open notification streams would otherwise hold it open.
  app.addHook('preClose', async () => endpoint.close());
}
