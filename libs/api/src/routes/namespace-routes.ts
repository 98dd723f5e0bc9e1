import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ErrorCode, FluxError, NAMESPACE_NAME_PATTERN, namespaceNameProblem } from '@flux/domain';
import type { QueryDeps } from '../api-deps.js';
import { routeDoc } from '../http/doc-schema.js';
import { parseInput, requireBody } from '../http/input.js';

const nameParams = z.object({ name: z.string().regex(NAMESPACE_NAME_PATTERN) });

/** The name in the path, checked by the registration rules before any lookup. */
function nameOf(params: unknown): string {
  const { name } = parseInput(z.object({ name: z.string() }), params, 'path');
  const problem = namespaceNameProblem(name);
  if (problem !== undefined) throw new FluxError(ErrorCode.Validation, `invalid path: ${problem}`);
  return name;
}

export function namespaceRoutes(app: FastifyInstance, deps: QueryDeps): void {
  // Namespaces exist only in public mode; in internal mode the routes answer 404 like unknown ones.
  const requirePublicMode = (): void => {
    if (!deps.authorizer.authEnabled) {
      throw new FluxError(ErrorCode.NotFound, 'namespaces are available only in public mode (FLUX_AUTH_ENABLED=true)');
    }
  };

  app.post(
    '/api/namespaces',
    {
      schema: routeDoc({
        summary: 'Register a namespace; its token is shown only in this response',
        tags: ['namespaces'],
        body: z.object({ name: z.string() }),
        responses: {
          200: { description: 'Registered', schema: z.object({ namespaceId: z.string(), name: z.string(), token: z.string() }) },
          400: 'Invalid name (3 to 32 of a-z 0-9 _ -)',
          401: 'Admin token required',
          403: 'Admin operations disabled (public mode without FLUX_ADMIN_TOKEN)',
          404: 'Internal mode: namespaces exist only in public mode',
          409: 'Name taken or reserved',
          413: 'Body larger than 64 KiB',
        },
      }),
    },
    async (request) => {
      requirePublicMode();
      deps.authorizer.authorizeAdmin(request.headers.authorization);
      return deps.namespaces.register(requireBody(request.body).name);
    },
  );

  app.get(
    '/api/namespaces/:name',
    {
      schema: routeDoc({
        summary: 'Namespace details with its current entity count',
        tags: ['namespaces'],
        params: nameParams,
        responses: {
          200: {
            description: 'The namespace',
            schema: z.object({ namespaceId: z.string(), name: z.string(), createdAt: z.string(), entityCount: z.number().int() }),
          },
          400: 'Invalid name (3 to 32 of a-z 0-9 _ -)',
          404: 'Unknown namespace, or internal mode',
        },
      }),
    },
    async (request) => {
      requirePublicMode();
      const info = await deps.namespaces.get(nameOf(request.params));
      return { ...info, createdAt: new Date(info.createdAt).toISOString() };
    },
  );

  app.delete(
    '/api/namespaces/:name',
    {
      schema: routeDoc({
        summary:
          'Delete a namespace and its entities: the token stops working at once, every entity gets a tombstone (not bounded by max_batch_delete) ' +
          'before the 204, and whoever registers the name later starts empty',
        tags: ['namespaces'],
        params: nameParams,
        responses: {
          204: 'Deleted, with tombstones appended for all its entities',
          400: 'Invalid name (3 to 32 of a-z 0-9 _ -)',
          401: 'Admin token required',
          403: 'Admin operations disabled',
          404: 'Unknown namespace, or internal mode',
          503: 'The log is unavailable: the token is revoked, some entities may remain (delete them with POST /api/state/entities/delete)',
        },
      }),
    },
    async (request, reply) => {
      requirePublicMode();
      deps.authorizer.authorizeAdmin(request.headers.authorization);
      await deps.namespaces.delete(nameOf(request.params));
      return reply.code(204).send();
    },
  );
}
