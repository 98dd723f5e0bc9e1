import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { WaitRequest } from '@flux/core';
import {
  ErrorCode,
  eventEnvelopeSchema,
  FluxError,
  HISTORY_DEFAULT_LIMIT,
  HISTORY_DEFAULT_WINDOW_MS,
  HISTORY_MAX_PER_ENTITY,
  historyView,
} from '@flux/domain';
import type { IngestDeps, QueryDeps } from '../api-deps.js';
import { routeDoc } from '../http/doc-schema.js';
import { entityIdParam, parseInput, positiveIntegerParam, requireBody, waitTimeoutParam } from '../http/input.js';
import { writerOf } from '../http/principal.js';
import { rateLimitHeaders } from '../http/rate-limit-headers.js';

/** Where an appended event sits in the log (see `min_position`). */
export const positionFieldsSchema = {
  position: z.string().describe('Opaque token of the log position; pass it as min_position to read your own write'),
  partition: z.number().int(),
  offset: z.number().int(),
};

const publishResult = z.object({
  eventId: z.string(),
  stream: z.string(),
  ...positionFieldsSchema,
  version: z.number().int().optional().describe("With wait=applied: the entity's version after the event (0: the event deleted it)"),
});
const batchFailure = z.object({
  error: z.string(),
  code: z.string().optional().describe('version_conflict, FLUX_PAYLOAD_TOO_LARGE or FLUX_WAIT_TIMEOUT for an appended event that waited'),
  eventId: z.string().optional(),
  stream: z.string().optional(),
  position: z.string().optional(),
  partition: z.number().int().optional(),
  offset: z.number().int().optional(),
  current_version: z.number().int().optional(),
});

/** `?wait=applied&timeout_ms=`: answer once the events are applied rather than once appended. */
const waitQuery = z.object({
  wait: z
    .enum(['applied'], { error: 'must be applied' })
    .optional()
    .describe('applied: answer once the event is applied (with the entity version) instead of once it is appended'),
  timeout_ms: waitTimeoutParam.optional(),
});

function waitOf(request: FastifyRequest): WaitRequest {
  const query = parseInput(waitQuery, request.query, 'query');
  return { applied: query.wait === 'applied', ...(query.timeout_ms === undefined ? {} : { timeoutMs: query.timeout_ms }) };
}

/** The error body of a write that waited and found its event changed nothing. */
const notAppliedBody = z.object({
  error: z.string(),
  code: z.string(),
  current_version: z.number().int(),
  eventId: z.string(),
  position: z.string(),
});
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
  results: z.array(z.union([publishResult, batchFailure])),
});

export const ISO_8601 = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);
const historyQuery = z.object({
  entity: entityIdParam(z.string({ error: 'is required' }).min(1, { error: 'is required' })),
  since: ISO_8601.optional(),
  limit: positiveIntegerParam.optional(),
});

export const PUBLISH_DOC = routeDoc({
  summary: 'Publish one event; 200 once it is durably appended to the log (with wait=applied: once it is applied)',
  tags: ['events'],
  querystring: waitQuery,
  body: eventEnvelopeSchema,
  responses: {
    200: { description: 'Appended (and with wait=applied, applied)', schema: publishResult },
    400: 'Invalid envelope (the message names the field) or query',
    401: 'Missing or unknown token (public mode)',
    403: 'Token of another namespace',
    409: { description: 'version_conflict: the event’s condition did not hold when it was applied; nothing changed', schema: notAppliedBody },
    413: 'Body larger than body_size_limit_single_bytes, or properties that alone exceed the entity bound (FLUX_MAX_ENTITY_PROPERTIES, FLUX_MAX_ENTITY_BYTES); with wait=applied also an event its entity had no room for',
    429: 'Rate limited; see Retry-After',
    503: 'Event log unavailable, or too many requests waiting (wait=applied)',
    504: 'wait=applied: appended, but not applied within timeout_ms (the body carries eventId and position)',
  },
});

export const BATCH_DOC = routeDoc({
  summary: 'Publish events; each element is validated, authorised, bounded and rate-limited on its own (with wait=applied, decided on its own)',
  tags: ['events'],
  querystring: waitQuery,
  body: batchBody,
  responses: {
    200: { description: 'One result per input, in input order', schema: batchResult },
    400: 'events missing, not an array, or empty; or an invalid query',
    401: 'Missing or unknown token (public mode)',
    403: 'Token of a deleted namespace, or admin token used to write',
    413: 'Body larger than body_size_limit_batch_bytes',
    503: 'Event log unavailable, or too many requests waiting (wait=applied)',
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
    async (request, reply) => {
      const principal = await writerOf(deps, request);
      return deps.ingest.publish(request.body, principal, rateLimitHeaders(reply), waitOf(request));
    },
  );

  app.post(
    BATCH_URL,
    {
      config: { bodyLimit: 'batch' },
      schema: BATCH_DOC,
    },
    async (request, reply) => {
      const principal = await writerOf(deps, request);
      const wait = waitOf(request);
      const events = requireBody(request.body).events;
      if (!Array.isArray(events)) throw new FluxError(ErrorCode.Validation, 'events is required and must be an array');
      if (events.length === 0) throw new FluxError(ErrorCode.Validation, 'events must not be empty');
      const results = await deps.ingest.publishBatch(events, principal, rateLimitHeaders(reply), wait);
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
          200: {
            description: 'Array of event envelopes, newest first; an event whose condition did not hold is there with `rejected`',
            schema: z.array(
              eventEnvelopeSchema.extend({
                rejected: z
                  .object({ code: z.string(), current_version: z.number().int() })
                  .optional()
                  .describe('Set when the event was recorded but changed nothing (version_conflict)'),
              }),
            ),
          },
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
      return stored.map(historyView);
    },
  );
}
