import { z } from 'zod';
import {
  entityIdProblem,
  ErrorCode,
  FluxError,
  formatIssues,
  idFragmentSchema,
  MAX_ENTITY_ID_LENGTH,
  MAX_POSITION_TOKEN_CHARS,
  textProblem,
  withProblem,
} from '@flux/domain';
import { MAX_WAIT_TIMEOUT_MS } from '@flux/core';

/** Parses request input with a zod schema, turning issues into a 400 that names each field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new FluxError(ErrorCode.Validation, `invalid ${what}: ${formatIssues(result.error.issues)}`);
  return result.data;
}

export function requireBody(body: unknown, what = 'request body'): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new FluxError(ErrorCode.Validation, `${what} must be a JSON object`);
  }
  return body as Record<string, unknown>;
}

/** A query-string parameter holding a positive integer (query values arrive as strings). */
export const positiveIntegerParam = z
  .string()
  .regex(/^\d+$/, { error: 'must be a positive integer' })
  .transform(Number)
  .refine((n) => n > 0, { error: 'must be a positive integer' });

/** A path or query parameter holding an entity id: checked before it reaches any store. */
export const entityIdParam = (base: z.ZodString = z.string()) =>
  withProblem(base.max(MAX_ENTITY_ID_LENGTH, { error: `must be at most ${MAX_ENTITY_ID_LENGTH} characters` }), entityIdProblem);

/** A query parameter matched against the start of ids (prefix, namespace): bounded like an id. */
export const idFragmentParam = idFragmentSchema;

/** Any other free-text parameter (names looked up in a fixed set): short and printable. */
export const nameParam = (maxLength: number) =>
  withProblem(
    z
      .string()
      .min(1)
      .max(maxLength, { error: `must be at most ${maxLength} characters` }),
    textProblem,
  );

/** `timeout_ms`: how long a request waits for events to be applied, at most MAX_WAIT_TIMEOUT_MS. */
export const waitTimeoutParam = positiveIntegerParam
  .refine((n) => n <= MAX_WAIT_TIMEOUT_MS, { error: `must be at most ${MAX_WAIT_TIMEOUT_MS}` })
  .describe(`Milliseconds to wait for the event(s) to be applied (1 to ${MAX_WAIT_TIMEOUT_MS}; default FLUX_WAIT_TIMEOUT_MS, 5000)`);

/** A position token (see @flux/domain position.ts): checked again when decoded. */
export const positionTokenParam = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, { error: 'is not a position returned by Flux' })
  .max(MAX_POSITION_TOKEN_CHARS, { error: 'is not a position returned by Flux' });
