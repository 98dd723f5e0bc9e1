import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { APPLIED_LATER, ID_RULES, LIMITS, MERGE_RULES } from './descriptions.js';
import type { PublishInput } from '@flux/client';
import type { FluxPort } from './flux-port.js';
import { runTool, toolResult } from './tool-result.js';

/** Largest page list_entities returns, and the most events one publish_batch call takes. */
export const MAX_LIST_LIMIT = 500;
export const DEFAULT_LIST_LIMIT = 50;
export const MAX_BATCH_EVENTS = 1000;
export const MAX_HISTORY_LIMIT = 500;
export const DEFAULT_HISTORY_LIMIT = 20;
/** Stream of events published without one. */
export const DEFAULT_STREAM = 'mcp';

export interface ToolContext {
  readonly flux: FluxPort;
  /** Producer identity of events published without a source: the MCP client's name. */
  readonly defaultSource: () => string;
}

export const entityIdInput = z
  .string()
  .min(1)
  .max(512)
  .describe('Entity id, e.g. "dawn-coral/sensor-01" (in public mode it starts with your namespace and "/")');

const propertiesInput = z
  .record(z.string(), z.unknown())
  .describe('Properties to merge into the entity: a key replaces that property whole, a key you leave out is kept, null removes it');

const streamInput = z
  .string()
  .regex(/^[a-z0-9]+(\.[a-z0-9]+)*$/)
  .optional()
  .describe(`Event stream: lowercase letters, digits and dots, e.g. "sensors" or "agents.status" (default "${DEFAULT_STREAM}")`);

const sourceInput = z.string().min(1).optional().describe('Who publishes, e.g. your agent name (default: the name of this MCP client)');

export const entityOutput = z
  .looseObject({
    id: z.string(),
    properties: z.record(z.string(), z.unknown()),
    lastUpdated: z.string().describe('ISO 8601 UTC time of the last applied event'),
    version: z.number().describe('Events applied to the entity since it was (re)created'),
  })
  .describe('An entity as Flux returns it');

const eventInput = z.object({
  entity_id: entityIdInput,
  properties: propertiesInput,
  stream: streamInput,
  source: sourceInput,
});

type EventArgs = z.infer<typeof eventInput>;

const toPublishInput = (event: EventArgs, context: ToolContext): PublishInput => ({
  entityId: event.entity_id,
  properties: event.properties,
  stream: event.stream ?? DEFAULT_STREAM,
  source: event.source ?? context.defaultSource(),
});

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** publish, publish_batch, get_entity, list_entities, history and delete_entity. */
export function registerEntityTools(server: McpServer, context: ToolContext): void {
  const { flux } = context;

  server.registerTool(
    'publish',
    {
      title: 'Publish an event',
      description: [
        'Publishes one event that changes one entity (creating it when it does not exist).',
        MERGE_RULES,
        ID_RULES,
        APPLIED_LATER,
        LIMITS,
      ].join(' '),
      inputSchema: eventInput.shape,
      outputSchema: { entity_id: z.string(), eventId: z.string(), stream: z.string() },
      annotations: { destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    async (args) =>
      runTool(async () => {
        const result = await flux.publish(toPublishInput(args, context));
        return toolResult(`Stored event ${result.eventId} for ${args.entity_id}.`, {
          entity_id: args.entity_id,
          eventId: result.eventId,
          stream: result.stream,
        });
      }),
  );

  server.registerTool(
    'publish_batch',
    {
      title: 'Publish several events',
      description: [
        `Publishes up to ${MAX_BATCH_EVENTS} events in one call, applied in array order; prefer it to many publish calls.`,
        'Each event is validated, authorised and rate-limited on its own: one refused event does not fail the others, so check "refused" and each result\'s error and code.',
        MERGE_RULES,
        ID_RULES,
        LIMITS,
      ].join(' '),
      inputSchema: { events: z.array(eventInput).min(1).max(MAX_BATCH_EVENTS).describe('The events, applied in this order') },
      outputSchema: {
        accepted: z.number(),
        refused: z.number(),
        results: z.array(
          z.object({
            index: z.number(),
            ok: z.boolean(),
            eventId: z.string().optional(),
            error: z.string().optional(),
            code: z.string().optional(),
          }),
        ),
      },
      annotations: { destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    async ({ events }) =>
      runTool(async () => {
        const batch = await flux.batch(events.map((event) => toPublishInput(event, context)));
        const results = batch.results.map(({ index, ok, eventId, error, code }) => ({
          index,
          ok,
          ...(eventId === undefined ? {} : { eventId }),
          ...(error === undefined ? {} : { error }),
          ...(code === undefined ? {} : { code }),
        }));
        const summary =
          batch.refused === 0
            ? `Stored all ${plural(batch.accepted, 'event')}.`
            : `Stored ${plural(batch.accepted, 'event')}; ${batch.refused} refused (see each result's error and code).`;
        return toolResult(summary, { accepted: batch.accepted, refused: batch.refused, results });
      }),
  );

  server.registerTool(
    'get_entity',
    {
      title: 'Get an entity',
      description:
        'Returns the current state of one entity: its properties, lastUpdated and version. found is false when no such entity exists (never created, or deleted). ' +
        'flux-core/directory lists the namespaces and their entity counts.',
      inputSchema: { entity_id: entityIdInput },
      outputSchema: { found: z.boolean(), entity: entityOutput.optional() },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ entity_id: id }) =>
      runTool(async () => {
        const entity = await flux.get(id);
        if (entity === undefined) return toolResult(`No entity ${id}.`, { found: false });
        return toolResult(`${id}: version ${entity.version}, ${plural(Object.keys(entity.properties).length, 'property')}.`, {
          found: true,
          entity,
        });
      }),
  );

  server.registerTool(
    'list_entities',
    {
      title: 'List entities',
      description:
        'Lists entities ordered by id, one page at a time. Filters combine with AND: prefix (the id starts with it, e.g. "dawn-coral/sensors/") and ' +
        'namespace (the part of the id before its first "/"), and filter, an expression the server evaluates on the properties ' +
        '(e.g. status = "open" and battery < 20; operators =, !=, <, <=, >, >=, exists, in (...), startswith, contains, and, or, not; @id is the id). ' +
        'A filtered page may hold fewer than limit entities, none even, while next_cursor is set. While more match, the result has next_cursor: pass it as cursor, with the same filters, for the next page. ' +
        `limit is 1 to ${MAX_LIST_LIMIT} (default ${DEFAULT_LIST_LIMIT}); entities can be large, so filter rather than list everything.`,
      inputSchema: {
        prefix: z.string().min(1).max(512).optional().describe('Only ids that start with this'),
        namespace: z.string().min(1).max(512).optional().describe('Only ids of this namespace (the part before the first "/")'),
        filter: z.string().min(1).max(4096).optional().describe('Only entities this expression matches, e.g. status = "open" and battery < 20'),
        limit: z.number().int().min(1).max(MAX_LIST_LIMIT).optional().describe(`Page size (default ${DEFAULT_LIST_LIMIT})`),
        cursor: z.string().min(1).max(4096).optional().describe('next_cursor of the previous page'),
      },
      outputSchema: {
        entities: z.array(entityOutput),
        next_cursor: z.string().optional().describe('Present while more entities match: pass it as cursor'),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ prefix, namespace, filter, limit, cursor }) =>
      runTool(async () => {
        const page = await flux.listPage({
          limit: limit ?? DEFAULT_LIST_LIMIT,
          ...(prefix === undefined ? {} : { prefix }),
          ...(namespace === undefined ? {} : { namespace }),
          ...(filter === undefined ? {} : { filter }),
          ...(cursor === undefined ? {} : { cursor }),
        });
        const more = page.nextCursor === undefined ? '' : ' More match: pass next_cursor as cursor.';
        return toolResult(`${plural(page.entities.length, 'entity')}.${more}`, {
          entities: page.entities,
          ...(page.nextCursor === undefined ? {} : { next_cursor: page.nextCursor }),
        });
      }),
  );

  server.registerTool(
    'history',
    {
      title: 'Event history of an entity',
      description:
        'Returns the events Flux stored for one entity, newest first (tombstones of deletions included): ' +
        `the newest limit events (default ${DEFAULT_HISTORY_LIMIT}, at most ${MAX_HISTORY_LIMIT}) stored since "since" (ISO 8601; default 24 hours ago). ` +
        'Flux keeps the newest 500 events per entity.',
      inputSchema: {
        entity_id: entityIdInput,
        limit: z.number().int().min(1).max(MAX_HISTORY_LIMIT).optional().describe(`How many events (default ${DEFAULT_HISTORY_LIMIT})`),
        since: z.iso.datetime({ offset: true }).optional().describe('Only events stored after this ISO 8601 time (default: 24 hours ago)'),
      },
      outputSchema: {
        events: z.array(
          z.looseObject({
            eventId: z.string(),
            stream: z.string(),
            source: z.string(),
            timestamp: z.number().describe('Epoch milliseconds given by the publisher'),
            payload: z.looseObject({ entity_id: z.string(), properties: z.record(z.string(), z.unknown()) }),
          }),
        ),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ entity_id: id, limit, since }) =>
      runTool(async () => {
        const events = await flux.history(id, { limit: limit ?? DEFAULT_HISTORY_LIMIT, ...(since === undefined ? {} : { since }) });
        return toolResult(`${plural(events.length, 'event')} of ${id}, newest first.`, { events });
      }),
  );

  server.registerTool(
    'delete_entity',
    {
      title: 'Delete an entity',
      description:
        'Deletes one entity with all its properties by storing a deletion event (a tombstone); it disappears a few milliseconds later. ' +
        'Deleting an id that does not exist is not an error. The next event for the id creates a fresh entity without the old properties. ' +
        'To remove single properties instead, publish them as null. ' +
        ID_RULES,
      inputSchema: { entity_id: entityIdInput },
      outputSchema: { entity_id: z.string(), eventId: z.string() },
      annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async ({ entity_id: id }) =>
      runTool(async () => {
        const result = await flux.delete(id);
        return toolResult(`Deletion of ${id} stored (event ${result.eventId}).`, { entity_id: id, eventId: result.eventId });
      }),
  );
}
