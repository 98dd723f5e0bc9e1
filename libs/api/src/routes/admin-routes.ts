import type { FastifyInstance } from 'fastify';
import { runtimeConfigSchema, runtimeConfigUpdateSchema } from '@flux/domain';
import type { QueryDeps } from '../api-deps.js';
import { routeDoc } from '../http/doc-schema.js';

export function adminRoutes(app: FastifyInstance, deps: QueryDeps): void {
  app.get(
    '/api/admin/config',
    {
      schema: routeDoc({
        summary: 'The runtime config',
        tags: ['admin'],
        responses: { 200: { description: 'Current limits', schema: runtimeConfigSchema } },
      }),
    },
    async () => deps.runtimeConfig.current,
  );

  app.put(
    '/api/admin/config',
    {
      schema: routeDoc({
        summary: 'Update any subset of the runtime config; applies at once to every instance and persists',
        tags: ['admin'],
        body: runtimeConfigUpdateSchema,
        responses: {
          200: { description: 'The full new config', schema: runtimeConfigSchema },
          400: 'Wrong types, limits below their floor (rate 1, single 1024, batch 65536) or unknown keys',
          401: 'Missing or wrong admin token',
          403: 'Admin operations disabled (public mode without FLUX_ADMIN_TOKEN)',
          413: 'Body larger than 64 KiB',
        },
      }),
    },
    async (request) => {
      deps.authorizer.authorizeAdmin(request.headers.authorization);
      return deps.runtimeConfig.update(request.body);
    },
  );
}
