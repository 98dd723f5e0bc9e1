import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  assertEntityId,
  combineFilters,
  compileFilter,
  decodeCursor,
  deleteSelectorSchema,
  encodeCursor,
  entityIdProblem,
  entityViewJson,
  ErrorCode,
  FILTER_MAX_CLAUSES,
  FILTER_MAX_DEPTH,
  FILTER_MAX_LENGTH,
  FluxError,
  positionParam,
  type EntityFilter,
  toEntityView,
} from '@flux/domain';
import { readEntityAt, TimeSlice } from '@flux/core';
import type { IngestDeps, QueryDeps } from '../api-deps.js';
import { routeDoc } from '../http/doc-schema.js';
import { entityIdParam, idFragmentParam, parseInput, positionTokenParam, positiveIntegerParam, waitTimeoutParam } from '../http/input.js';
import { writerOf } from '../http/principal.js';
import { NEXT_CURSOR_HEADER } from '../http/header-names.js';
import { ISO_8601, positionFieldsSchema } from './event-routes.js';

const entitySchema = z.object({
  id: z.string(),
  properties: z.record(z.string(), z.unknown()),
  lastUpdated: z.string(),
  version: z.number().int(),
  position: z
    .string()
    .optional()
    .describe('Position token of the last event applied to the entity (absent on entities not changed since positions were kept)'),
  ttlSeconds: z.number().int().optional().describe('Only on entities with a ttl (ttl_seconds): its length in seconds'),
  expiresAt: z.string().optional().describe('Only on entities with a ttl: when the entity is deleted unless updated before'),
});

/** `?min_position=&timeout_ms=`: read only once the state reflects a position (read-your-writes). */
const readQuery = z.object({
  min_position: positionTokenParam
    .optional()
    .describe("A position token from a write's answer: wait until that partition is applied at least that far, then read"),
  timeout_ms: waitTimeoutParam.optional(),
  at: ISO_8601.optional().describe(
    'ISO 8601 time: the entity as it was then, rebuilt from its retained history (its newest 500 events); 404 when it did not exist then, 410 FLUX_OUTSIDE_HISTORY when the history does not reach back that far',
  ),
});

/** A cursor encodes one id (at most 512 characters, 4 UTF-8 bytes each at worst) in base64url. */
const MAX_CURSOR_CHARS = 4096;

const listQuery = z.object({
  prefix: idFragmentParam.optional(),
  namespace: idFragmentParam.optional(),
  limit: positiveIntegerParam.optional(),
  cursor: z
    .string()
    .max(MAX_CURSOR_CHARS, { error: 'is not a cursor returned by Flux' })
    .regex(/^[A-Za-z0-9_-]*$/, { error: 'is not a cursor returned by Flux' })
    .optional(),
  filter: z
    .string()
    .optional()
    .describe(
      `Only entities matching this expression (docs/filters.md), e.g. \`status = "open" and battery < 20\`: ` +
        'comparisons (= != < <= > >=) of properties (dotted paths, @id for the entity id) with strings, numbers, true, false or null; ' +
        '`exists`; `in (v1, v2)`; `startswith "s"`; `contains "s"`; `and`, `or`, `not`, parentheses. ' +
        `At most ${FILTER_MAX_LENGTH} characters, ${FILTER_MAX_CLAUSES} clauses, ${FILTER_MAX_DEPTH} levels of nesting. ` +
        `Each page examines a bounded number of entities, so a filtered page may hold fewer than \`limit\` entities (even none) while ${NEXT_CURSOR_HEADER} is set: follow the cursor until it is absent.`,
    ),
});

/** The id a cursor resumes after; a forged one must not reach the store. */
function cursorPosition(cursor: string): string {
  const after = decodeCursor(cursor);
  if (entityIdProblem(after) !== undefined) throw new FluxError(ErrorCode.Validation, 'cursor is not a cursor returned by Flux');
  return after;
}

const idParams = z.object({ id: entityIdParam().describe('Entity id, percent-encoded (dawn-coral%2Fsensor-01)') });

/**
 * Entity ids are sent percent-encoded (`a%2Fb`) and arrive in `:id`; ids sent with raw
 * slashes reach an undocumented wildcard twin of each route instead.
 */
const entityIdOf = (request: FastifyRequest): string => {
  const params = request.params as { id?: string; '*'?: string };
  const id = params.id ?? params['*'] ?? '';
  if (id === '') throw new FluxError(ErrorCode.Validation, 'entity id is required in the path');
  assertEntityId(id, 'id');
  return id;
};

/** Registers a route for `/api/state/entities/:id` and its hidden raw-slash twin. */
function entityRoute(
  app: FastifyInstance,
  method: 'GET' | 'DELETE',
  schema: Record<string, unknown>,
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
): void {
  app.route({ method, url: ENTITY_URL, schema, handler });
  app.route({ method, url: ENTITY_WILDCARD_URL, schema: { hide: true }, handler });
}

/**
 * Page size used when streaming an unpaged list: a page is read, decoded and serialised in one
 * synchronous step, about 1.5 ms for 250 small entities.
 */
const STREAM_PAGE_SIZE = 250;

async function* streamAll(deps: QueryDeps, prefix: string, filter: EntityFilter | undefined): AsyncGenerator<string> {
  yield '[';
  let after: string | undefined;
  let first = true;
  // The stream pulls the next page as soon as the socket takes the last one, in promise jobs
  // only: without a turn of the event loop between pages, listing 100k entities held it for
  // more than half a second.
  const slice = new TimeSlice();
  for (;;) {
    if (slice.due) await slice.yield();
    const page = await deps.reader.listEntities({
      prefix,
      limit: STREAM_PAGE_SIZE,
      ...(after === undefined ? {} : { after }),
      ...(filter && { filter }),
    });
    const chunk = page.entities.map((record) => JSON.stringify(toEntityView(record.id, record.entity))).join(',');
    if (chunk !== '') {
      yield first ? chunk : `,${chunk}`;
      first = false;
    }
    if (page.lastId === undefined) break;
    after = page.lastId;
  }
  yield ']';
}

export const ENTITIES_URL = '/api/state/entities';
export const ENTITY_URL = `${ENTITIES_URL}/:id`;
/** Ids sent with raw slashes land here. */
export const ENTITY_WILDCARD_URL = `${ENTITIES_URL}/*`;
export const BATCH_DELETE_URL = `${ENTITIES_URL}/delete`;

/** GET list and GET one. */
export function entityReadRoutes(app: FastifyInstance, deps: QueryDeps): void {
  app.get(
    ENTITIES_URL,
    {
      schema: routeDoc({
        summary: 'List entities (ordered by id); filters combine with AND; without limit/cursor every match is returned (streamed)',
        tags: ['state'],
        querystring: listQuery,
        responses: {
          200: { description: `Array of entities; header ${NEXT_CURSOR_HEADER} while more remain`, schema: z.array(entitySchema) },
          400: 'Invalid limit or cursor, or a filter that does not parse (the message names the problem and the character where it is)',
          503: 'State store unavailable',
        },
      }),
    },
    async (request, reply) => {
      const query = parseInput(listQuery, request.query, 'query');
      const after = query.cursor === undefined ? undefined : cursorPosition(query.cursor);
      const filter = query.filter === undefined ? undefined : compileFilter(query.filter);
      const prefix = combineFilters(query.prefix, query.namespace);
      if (prefix === undefined) return [];
      if (query.limit === undefined && after === undefined) {
        // Unpaged: every match, streamed page by page so memory stays bounded however many there are.
        return reply.type('application/json; charset=utf-8').send(Readable.from(streamAll(deps, prefix, filter)));
      }
      const limit = Math.min(query.limit ?? deps.listMaxLimit, deps.listMaxLimit);
      const page = await deps.reader.listEntities({ prefix, limit, ...(after === undefined ? {} : { after }), ...(filter && { filter }) });
      if (page.lastId !== undefined) reply.header(NEXT_CURSOR_HEADER, encodeCursor(page.lastId));
      return page.entities.map((record) => toEntityView(record.id, record.entity));
    },
  );

  entityRoute(
    app,
    'GET',
    routeDoc({
      summary: 'Get one entity (with min_position: once the state reflects that position; with at: as it was at that time)',
      tags: ['state'],
      params: idParams,
      querystring: readQuery,
      responses: {
        200: { description: 'The entity', schema: entitySchema },
        400: 'Invalid id, at not ISO 8601, or a min_position that is not a position of this log',
        404: 'Entity not found (with at: it did not exist at that time)',
        410: 'FLUX_OUTSIDE_HISTORY: at is earlier than the entity’s retained history reaches',
        503: 'State store unavailable, or too many requests waiting',
        504: 'min_position not applied within timeout_ms',
      },
    }),
    async (request, reply) => {
      const id = entityIdOf(request);
      const query = parseInput(readQuery, request.query, 'query');
      if (query.min_position !== undefined) {
        const position = positionParam(query.min_position, deps.partitionCount, 'min_position');
        if (deps.applied === undefined) throw new FluxError(ErrorCode.NotConfigured, 'this server cannot wait for positions to be applied');
        await deps.applied.waitForPosition(position, query.timeout_ms ?? deps.waitTimeoutMs);
      }
      if (query.at !== undefined) return toEntityView(id, await readEntityAt(deps.reader, id, Date.parse(query.at), deps.partitionCount));
      const json = await deps.reader.getEntityJson(id);
      if (json === undefined) throw new FluxError(ErrorCode.NotFound, 'Entity not found');
      // Spliced from the stored JSON: a large entity is never decoded and re-encoded to answer.
      return reply.type('application/json; charset=utf-8').send(entityViewJson(id, json));
    },
  );
}

export const DELETE_ONE_DOC = routeDoc({
  summary: 'Delete an entity by appending a tombstone (idempotent)',
  tags: ['state'],
  params: idParams,
  responses: {
    200: { description: 'Tombstone appended', schema: z.object({ entity_id: z.string(), eventId: z.string(), ...positionFieldsSchema }) },
    400: 'Invalid id',
    401: 'Missing or unknown token (public mode)',
    403: 'Outside the token’s namespace',
    503: 'Event log unavailable',
  },
});

export const BATCH_DELETE_DOC = routeDoc({
  summary: 'Delete many entities: exactly one of namespace, prefix or entity_ids',
  tags: ['state'],
  body: deleteSelectorSchema,
  responses: {
    200: {
      description: 'Tombstones appended',
      schema: z.object({
        deleted: z.number().int(),
        failed: z.number().int(),
        errors: z.array(z.unknown()),
        positions: z.array(z.string()).describe('Position token of the last tombstone appended in each partition touched'),
      }),
    },
    400: 'Not exactly one selector, an empty or over-long (512) namespace or prefix, or more than max_batch_delete entities match',
    401: 'Missing or unknown token (public mode)',
    403: 'A matched entity is outside the token’s namespace; nothing was deleted',
    413: 'Body larger than 16 MiB',
    503: 'Event log or state store unavailable',
  },
});

/** DELETE one (tombstone) and POST batch delete. */
export function entityDeleteRoutes(app: FastifyInstance, deps: IngestDeps): void {
  entityRoute(app, 'DELETE', DELETE_ONE_DOC, async (request) => deps.deletion.deleteOne(entityIdOf(request), await writerOf(deps, request)));

  app.post(
    BATCH_DELETE_URL,
    {
      config: { bodyLimit: 'batch-delete' },
      schema: BATCH_DELETE_DOC,
    },
    async (request) => deps.deletion.deleteMatching(request.body, await writerOf(deps, request)),
  );
}
