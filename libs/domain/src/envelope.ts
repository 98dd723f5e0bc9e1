import { z } from 'zod';
import { FluxError, ErrorCode } from './errors.js';
import { entityIdProblem } from './entity-id.js';
import { ILL_FORMED_TEXT, isWellFormedText, MAX_PROPERTY_DEPTH, propertiesProblem } from './property-values.js';
import { newEventId as defaultEventId, type IdGenerator } from './event-id.js';

export type Properties = Record<string, unknown>;

export interface EventPayload {
  readonly entity_id: string;
  readonly properties: Properties;
}

/** An accepted event: a validated envelope whose `eventId` is always set. */
export interface FluxEvent {
  readonly eventId: string;
  readonly stream: string;
  readonly source: string;
  /** Epoch milliseconds, as given by the producer. */
  readonly timestamp: number;
  readonly payload: EventPayload;
  readonly key?: string;
  readonly schema?: string;
  /** Apply only if the entity's version is exactly this (0: it must not exist); see condition.ts. */
  readonly if_version?: number;
  /** Apply only if the entity does not exist. */
  readonly if_absent?: true;
  /**
   * Seconds without an update after which the entity is deleted (see ttl.ts); null clears the
   * entity's ttl, absent keeps it.
   */
  readonly ttl_seconds?: number | null;
}

export const STREAM_PATTERN = /^[a-z0-9]+(\.[a-z0-9]+)*$/;

/** Tombstone marker among an event's properties (compatible with the original Flux). */
export const DELETED_PROPERTY = '__deleted__';

const isPlainObject = (value: unknown): value is Properties => typeof value === 'object' && value !== null && !Array.isArray(value);

const describe = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value);

const requiredString = (what: string) =>
  z
    .string({
      error: (issue) => (issue.input === undefined ? 'is required' : `must be ${what}, got ${describe(issue.input)}`),
    })
    .refine(isWellFormedText, { error: ILL_FORMED_TEXT, abort: true });

const optionalString = () => z.string({ error: 'must be a string' }).refine(isWellFormedText, { error: ILL_FORMED_TEXT }).optional();

/** The longest ttl_seconds an event may set: one year. */
export const MAX_TTL_SECONDS = 31_536_000;

/** The latest instant a JavaScript Date can hold: later timestamps could not be shown as ISO 8601. */
export const MAX_TIMESTAMP_MS = 8.64e15;

/**
 * The envelope as producers send it. Properties are checked with a predicate rather than
 * parsed, so the caller's object (including a plain-data `__proto__` key) is kept as is.
 */
export const eventEnvelopeSchema = z.object({
  eventId: optionalString(),
  stream: requiredString('a string').regex(STREAM_PATTERN, {
    error: 'must be lowercase letters, digits and dots (^[a-z0-9]+(\\.[a-z0-9]+)*$)',
  }),
  source: requiredString('a string').min(1, { error: 'must not be empty' }),
  timestamp: z
    .number({
      error: (issue) => (issue.input === undefined ? 'is required' : `must be an integer (epoch milliseconds), got ${describe(issue.input)}`),
    })
    .int({ error: 'must be an integer (epoch milliseconds)' })
    .positive({ error: 'must be greater than 0' })
    .max(MAX_TIMESTAMP_MS, { error: `must be at most ${MAX_TIMESTAMP_MS} (the latest date JavaScript can represent)` }),
  payload: z.strictObject(
    {
      entity_id: requiredString('a string').check((ctx) => {
        const problem = entityIdProblem(ctx.value);
        if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
      }),
      properties: z
        .custom<Properties>(isPlainObject, {
          error: (issue) => (issue.input === undefined ? 'is required' : `must be an object, got ${describe(issue.input)}`),
        })
        .check((ctx) => {
          if (!isPlainObject(ctx.value)) return;
          const problem = propertiesProblem(ctx.value);
          if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem.message, input: ctx.value, path: [...problem.path] });
        })
        .describe(
          `Property names are non-empty; values are JSON nested at most ${MAX_PROPERTY_DEPTH} levels deep, ` +
            'with finite numbers and no unpaired UTF-16 surrogates in names or strings',
        ),
    },
    {
      error: (issue) => {
        if (issue.code === 'unrecognized_keys') {
          return `must contain only entity_id and properties (unexpected: ${issue.keys.join(', ')})`;
        }
        return issue.input === undefined ? 'is required' : `must be an object, got ${describe(issue.input)}`;
      },
    },
  ),
  key: optionalString(),
  schema: optionalString(),
  if_version: z
    .number({ error: (issue) => `must be an integer (the entity version the event expects), got ${describe(issue.input)}` })
    .int({ error: 'must be an integer (the entity version the event expects)' })
    .min(0, { error: 'must be 0 (the entity must not exist) or more' })
    .max(Number.MAX_SAFE_INTEGER, { error: `must be at most ${Number.MAX_SAFE_INTEGER}` })
    .optional()
    .describe('Apply only if the entity version is exactly this when the event is applied (0: the entity must not exist); else 409'),
  if_absent: z
    .boolean({ error: (issue) => `must be true or false, got ${describe(issue.input)}` })
    .optional()
    .describe('true: apply only if the entity does not exist when the event is applied; else 409. Not together with if_version'),
  ttl_seconds: z
    .number({ error: (issue) => `must be an integer number of seconds or null, got ${describe(issue.input)}` })
    .int({ error: 'must be an integer number of seconds or null' })
    .min(1, { error: 'must be at least 1' })
    .max(MAX_TTL_SECONDS, { error: `must be at most ${MAX_TTL_SECONDS} (one year)` })
    .nullable()
    .optional()
    .describe(
      'Delete the entity once it has not been updated for this many seconds (a tombstone in the log). ' +
        'Later events without ttl_seconds keep the ttl (each update restarts it); null clears it',
    ),
});

export type EventEnvelopeInput = z.input<typeof eventEnvelopeSchema>;

/** Formats zod issues as `field: message; field: message`, naming each offending field. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path.length > 0 ? `${path} ${issue.message}` : issue.message;
    })
    .join('; ');
}

/**
 * Validates a producer's envelope and completes it (eventId). Throws a validation FluxError
 * whose message names every offending field.
 */
export function parseEnvelope(input: unknown, newEventId: IdGenerator = defaultEventId): FluxEvent {
  if (!isPlainObject(input)) {
    throw new FluxError(ErrorCode.Validation, `event must be a JSON object, got ${describe(input)}`);
  }
  const result = eventEnvelopeSchema.safeParse(input);
  if (!result.success) throw new FluxError(ErrorCode.Validation, formatIssues(result.error.issues));
  const { eventId, stream, source, timestamp, payload, key, schema, if_version: ifVersion, if_absent: ifAbsent, ttl_seconds: ttl } = result.data;
  if (ifVersion !== undefined && ifAbsent !== undefined) {
    throw new FluxError(ErrorCode.Validation, 'if_version and if_absent must not both be given (if_version: 0 also means "must not exist")');
  }
  return {
    eventId: eventId === undefined || eventId === '' ? newEventId() : eventId,
    stream,
    source,
    timestamp,
    payload: { entity_id: payload.entity_id, properties: payload.properties },
    ...(key === undefined ? {} : { key }),
    ...(schema === undefined ? {} : { schema }),
    ...(ifVersion === undefined ? {} : { if_version: ifVersion }),
    ...(ifAbsent === true ? { if_absent: true as const } : {}),
    ...(ttl === undefined ? {} : { ttl_seconds: ttl }),
  };
}

export const isTombstone = (event: FluxEvent): boolean => event.payload.properties[DELETED_PROPERTY] === true;

/** The stream tombstones written by Flux itself are published on. */
export const DELETION_STREAM = 'flux.deletions';

export function tombstoneFor(entityId: string, source: string, now: number, newEventId: IdGenerator = defaultEventId): FluxEvent {
  return {
    eventId: newEventId(),
    stream: DELETION_STREAM,
    source,
    timestamp: now,
    payload: { entity_id: entityId, properties: { [DELETED_PROPERTY]: true } },
  };
}
