import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { sourceCreateSchema, sourceUpdateSchema, tapCreateSchema } from '@flux/core';
import type { QueryDeps } from '../api-deps.js';
import { routeDoc } from '../http/doc-schema.js';
import { credentialOwnerOf } from '../http/principal.js';

const idParams = z.object({ id: z.string().max(64) });
const idOf = (params: unknown): string => (params as { id: string }).id;
const source = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  poll_interval_seconds: z.number().int(),
  entity_key: z.string(),
  entity_prefix: z.string(),
  items_path: z.string().nullable(),
  properties: z.record(z.string(), z.string()).nullable(),
  auth: z.union([z.enum(['none', 'bearer', 'basic']), z.object({ header: z.string() })]),
  has_token: z.boolean(),
  on_disappear: z.union([z.enum(['keep', 'delete']), z.object({ mark: z.string() })]),
  paused: z.boolean(),
  status: z.enum(['active', 'paused', 'error']),
  last_poll: z.string().nullable(),
  last_error: z.string().nullable(),
  items_seen: z.number().int().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  tap: z.object({ name: z.string(), entity_key_field: z.string(), stream_filter: z.array(z.string()).nullable() }).optional(),
});
const TAGS = ['connectors'];

/** Generic HTTP sources: created, changed and removed by their namespace; polled by the connector runtime. */
export function sourceRoutes(app: FastifyInstance, deps: QueryDeps): void {
  app.get(
    '/api/connectors/sources',
    {
      schema: routeDoc({
        summary: 'The caller’s HTTP sources with their status',
        tags: TAGS,
        responses: { 200: { description: 'Sources', schema: z.object({ sources: z.array(source) }) }, 401: 'Namespace token required (public mode)' },
      }),
    },
    async (request) => ({ sources: await deps.sources.list(await credentialOwnerOf(deps, request)) }),
  );

  app.post(
    '/api/connectors/sources',
    {
      schema: routeDoc({
        summary: 'Create an HTTP source: its URL is polled and each item published as an entity',
        tags: TAGS,
        body: sourceCreateSchema,
        responses: {
          201: { description: 'Created; the first poll follows within seconds', schema: source },
          400: 'Invalid field, or (FLUX_ADDRESS_NOT_ALLOWED) a URL resolving to a loopback, private or link-local address',
          401: 'Namespace token required (public mode)',
          409: 'The namespace has the most sources allowed',
          500: 'A token was given but no FLUX_ENCRYPTION_KEY is configured',
        },
      }),
    },
    async (request, reply) => {
      const created = await deps.sources.create(await credentialOwnerOf(deps, request), request.body);
      return reply.code(201).send(created);
    },
  );

  app.post(
    '/api/connectors/taps',
    {
      schema: routeDoc({
        summary: 'Create a source that runs a Singer tap on the interval: RECORD messages become entities, STATE is the bookmark',
        tags: TAGS,
        body: tapCreateSchema,
        responses: {
          201: { description: 'Created (managed through /api/connectors/sources/:id; its config is never returned)', schema: source },
          400: 'Invalid field, or a tap not among FLUX_CONNECTOR_TAPS',
          401: 'Namespace token required (public mode)',
          409: 'The namespace has the most sources allowed',
          500: 'No FLUX_ENCRYPTION_KEY configured',
        },
      }),
    },
    async (request, reply) => {
      const created = await deps.sources.createTap(await credentialOwnerOf(deps, request), request.body);
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/api/connectors/sources/:id',
    {
      schema: routeDoc({
        summary: 'One source: configuration (never its token), status, last poll, last error, items seen',
        tags: TAGS,
        params: idParams,
        responses: { 200: { description: 'Source', schema: source }, 401: 'Namespace token required (public mode)', 404: 'No such source' },
      }),
    },
    async (request) => deps.sources.get(await credentialOwnerOf(deps, request), idOf(request.params)),
  );

  app.patch(
    '/api/connectors/sources/:id',
    {
      schema: routeDoc({
        summary: 'Change a source (interval, mapping, paused...); it is polled again at once unless paused',
        tags: TAGS,
        params: idParams,
        body: sourceUpdateSchema,
        responses: {
          200: { description: 'Updated source', schema: source },
          400: 'Invalid field, or a URL resolving to a private address',
          401: 'Namespace token required (public mode)',
          404: 'No such source',
        },
      }),
    },
    async (request) => deps.sources.update(await credentialOwnerOf(deps, request), idOf(request.params), request.body),
  );

  app.delete(
    '/api/connectors/sources/:id',
    {
      schema: routeDoc({
        summary: 'Remove a source (its entities stay)',
        tags: TAGS,
        params: idParams,
        responses: {
          200: { description: 'Removed', schema: z.object({ success: z.literal(true) }) },
          401: 'Namespace token required (public mode)',
          404: 'No such source',
        },
      }),
    },
    async (request) => {
      await deps.sources.delete(await credentialOwnerOf(deps, request), idOf(request.params));
      return { success: true };
    },
  );
}
