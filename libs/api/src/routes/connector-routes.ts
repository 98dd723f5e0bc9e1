import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { QueryDeps } from '../api-deps.js';
import { routeDoc } from '../http/doc-schema.js';
import { credentialOwnerOf } from '../http/principal.js';
import { nameParam, parseInput } from '../http/input.js';

const summary = z.object({ name: z.string(), enabled: z.boolean(), status: z.enum(['configured', 'not_configured', 'error']) });
/** Connector names are short identifiers; a longer one is refused before any lookup. */
const MAX_CONNECTOR_NAME_LENGTH = 64;
export const nameParams = z.object({ name: nameParam(MAX_CONNECTOR_NAME_LENGTH) });
const success = z.object({ success: z.literal(true) });
const nameOf = (params: unknown): string => parseInput(nameParams, params, 'path').name;

export function connectorRoutes(app: FastifyInstance, deps: QueryDeps): void {
  app.get(
    '/api/connectors',
    {
      schema: routeDoc({
        summary: 'Connectors and their status (for the caller’s namespace in public mode)',
        tags: ['connectors'],
        responses: {
          200: { description: 'Connectors', schema: z.object({ connectors: z.array(summary) }) },
          401: 'Namespace token required (public mode)',
        },
      }),
    },
    async (request) => ({ connectors: await deps.connectors.list(await credentialOwnerOf(deps, request)) }),
  );

  app.get(
    '/api/connectors/:name',
    {
      schema: routeDoc({
        summary: 'One connector with its poll interval, last poll and last error',
        tags: ['connectors'],
        params: nameParams,
        responses: {
          200: {
            description: 'Connector',
            schema: summary.extend({ poll_interval_seconds: z.number().int(), last_poll: z.string().nullable(), last_error: z.string().nullable() }),
          },
          400: 'Invalid connector name',
          401: 'Namespace token required (public mode)',
          404: 'Unknown connector',
        },
      }),
    },
    async (request) => deps.connectors.detail(await credentialOwnerOf(deps, request), nameOf(request.params)),
  );

  app.post(
    '/api/connectors/:name/token',
    {
      schema: routeDoc({
        summary: 'Store the connector’s credential (AES-256-GCM encrypted) and enable it',
        tags: ['connectors'],
        params: nameParams,
        body: z.object({ token: z.string() }),
        responses: {
          200: { description: 'Stored', schema: success },
          400: 'token missing, or an invalid connector name',
          401: 'Namespace token required (public mode)',
          404: 'Unknown connector',
          413: 'Body larger than 64 KiB',
          500: 'No FLUX_ENCRYPTION_KEY configured',
        },
      }),
    },
    async (request) => {
      await deps.connectors.storeToken(await credentialOwnerOf(deps, request), nameOf(request.params), request.body);
      return { success: true };
    },
  );

  app.delete(
    '/api/connectors/:name/token',
    {
      schema: routeDoc({
        summary: 'Remove the connector’s credential',
        tags: ['connectors'],
        params: nameParams,
        responses: {
          200: { description: 'Removed', schema: success },
          400: 'Invalid connector name',
          401: 'Namespace token required (public mode)',
          404: 'Nothing stored, or unknown connector',
        },
      }),
    },
    async (request) => {
      await deps.connectors.deleteToken(await credentialOwnerOf(deps, request), nameOf(request.params));
      return { success: true };
    },
  );
}
