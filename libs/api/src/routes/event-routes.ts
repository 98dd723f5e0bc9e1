import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ErrorCode, eventEnvelopeSchema, FluxError, HISTORY_DEFAULT_LIMIT, HISTORY_DEFAULT_WINDOW_MS, HISTORY_MAX_PER_ENTITY } from '@flux/domain';
import type { IngestDeps, QueryDeps } from '../api-deps.js';
import { routeDoc } from '../http/doc-schema.js';
import { entityIdParam, parseInput, positiveIntegerParam, requireBody } from '../http/input.js';
import { writerOf } from '../http/principal.js';
import { rateLimitHeaders } from '../http/rate-limit-headers.js';

const publishResult = z.object({ eventId: z.string(), stream: z.string() });
/**
 * Each element is validated on its own (an invalid one fails only its own result), so the
 * document describes the elements rather than constraining them.
 */
const batchBody = z.object({
  events: z.array(z.unknown().describe('An event envelope, as POST /api/events takes; an invalid one fails only its own result')).min(1),
});
const batchResult = z.object({
  successful: z.number().int(),
  failed: z.number().int(),
  results: z.array(z.union([publishResult, z.object({ error: z.string(), eventId: z.string().optional(), stream: z.string().optional() })])),
});

const ISO_8601 = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);
const historyQuery = z.object({
  entity: entityIdParam(z.string({ error: 'is required' }).min(1, { error: 'is required' })),
  since: ISO_8601.optional(),
  limit: positiveIntegerParam.optional(),
});

export const PUBLISH_DOC = routeDoc({
  summary: 'Publish one event; 200 once it is durably appended to the log',
  tags: ['events'],
  body: eventEnvelopeSchema,
  responses: {
    200: { description: 'Appended', schema: publishResult },
    400: 'Invalid envelope (the message names the field)',
    401: 'Missing or unknown token (public mode)',
    403: 'Token of another namespace',
    413: 'Body larger than body_size_limit_single_bytes, or properties that alone exceed the entity bound (FLUX_MAX_ENTITY_PROPERTIES, FLUX_MAX_ENTITY_BYTES)',
    429: 'Rate limited; see Retry-After',
    503: 'Event log unavailable',
  },
});

export const BATCH_DOC = routeDoc({
  summary: 'Publish events; each element is validated, authorised, bounded and rate-limited on its own',
  tags: ['events'],
  body: batchBody,
  responses: {
    200: { description: 'One result per input, in input order', schema: batchResult },
    400: 'events missing, not an array, or empty',
    401: 'Missing or unknown token (public mode)',
    403: 'Token of a deleted namespace, or admin token used to write',
    413: 'Body larger than body_size_limit_batch_bytes',
    503: 'Event log unavailable',
  },
});

export const EVENTS_URL = '/api/events';
export const BATCH_URL = '/api/events/batch';

/** POST /api/events and /api/events/batch. */
export function publishRoutes(app: FastifyInstance, deps: IngestDeps): void {
  app.post(
    EVENTS_URL,
    {
      config: { bodyLimit: 'single' },
      schema: PUBLISH_DOC,
    },
    async (request, reply) => deps.ingest.publish(request.body, await writerOf(deps, request), rateLimitHeaders(reply)),
  );

  app.post(
    BATCH_URL,
    {
      config: { bodyLimit: 'batch' },
      schema: BATCH_DOC,
    },
    async (request, reply) => {
      const principal = await writerOf(deps, request);
      const events = requireBody(request.body).events;
      if (!Array.isArray(events)) throw new FluxError(ErrorCode.Validation, 'events is required and must be an array');
      if (events.length === 0) throw new FluxError(ErrorCode.Validation, 'events must not be empty');
      const results = await deps.ingest.publishBatch(events, principal, rateLimitHeaders(reply));
      const failed = results.filter((result) => 'error' in result).length;
      return { successful: results.length - failed, failed, results };
    },
  );
}

/** GET /api/events: an entity's history. */
export function historyRoutes(app: FastifyInstance, deps: QueryDeps): void {
  app.get(
    EVENTS_URL,
    {
      schema: routeDoc({
        summary: "An entity's stored events (tombstones included), newest first",
        tags: ['events'],
        querystring: historyQuery,
        responses: {
          200: { description: 'Array of event envelopes, newest first', schema: z.array(eventEnvelopeSchema) },
          400: 'entity missing, since not ISO 8601, or limit not a positive integer',
          503: 'State store unavailable',
        },
      }),
    },
    async (request) => {
      const query = parseInput(historyQuery, request.query, 'query');
      const sinceMs = query.since === undefined ? Date.now() - HISTORY_DEFAULT_WINDOW_MS : Date.parse(query.since);
      const limit = Math.min(query.limit ?? HISTORY_DEFAULT_LIMIT, HISTORY_MAX_PER_ENTITY);
      const stored = await deps.reader.history(query.entity, { sinceMs, limit });
      return stored.map((entry) => entry.event);
    },
  );
}
