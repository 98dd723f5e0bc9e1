import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ErrorCode } from '@flux/domain';
import type { SystemDeps } from '../api-deps.js';
import { errorBody } from '../http/errors.js';
import { routeDoc } from '../http/doc-schema.js';

export function systemRoutes(app: FastifyInstance, deps: SystemDeps): void {
  app.get(
    '/health',
    {
      schema: routeDoc({
        summary: 'Liveness',
        tags: ['system'],
        responses: { 200: { description: 'Running', schema: z.object({ status: z.literal('ok') }) } },
      }),
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/ready',
    {
      schema: routeDoc({
        summary: 'Readiness: log and store reachable, recovery done',
        tags: ['system'],
        responses: { 200: { description: 'Ready', schema: z.object({ status: z.literal('ready') }) }, 503: 'Not ready yet' },
      }),
    },
    async (_request, reply) => {
      const readiness = await deps.readiness();
      if (readiness.ready) return { status: 'ready' };
      return reply.code(503).send(errorBody(ErrorCode.Unavailable, `not ready: ${readiness.reason ?? 'starting'}`));
    },
  );

  app.get(
    '/metrics',
    {
      schema: routeDoc({
        summary: 'Prometheus metrics (text format)',
        tags: ['system'],
        responses: { 200: { description: 'Prometheus exposition text', schema: z.string(), contentType: 'text/plain' } },
      }),
    },
    async (_request, reply) => {
      const body = await deps.metrics.registry.metrics();
      return reply.type(deps.metrics.registry.contentType).send(body);
    },
  );
}
