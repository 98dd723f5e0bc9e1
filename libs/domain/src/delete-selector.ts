import { z } from 'zod';
import { MAX_ENTITY_ID_LENGTH, textProblem } from './entity-id.js';
import { formatIssues } from './envelope.js';
import { ErrorCode, FluxError } from './errors.js';

/** Adds `problem(value)` as an issue of a string schema (domain rules phrase their own messages). */
export const withProblem = (schema: z.ZodString, problem: (value: string) => string | undefined): z.ZodString =>
  schema.check((ctx) => {
    const message = problem(ctx.value);
    if (message !== undefined) ctx.issues.push({ code: 'custom', message, input: ctx.value });
  });

/** A string matched against the start of ids (a prefix or namespace filter): bounded and printable like an id. */
export const idFragmentSchema = withProblem(
  z.string({ error: 'must be a string' }).max(MAX_ENTITY_ID_LENGTH, { error: `must be at most ${MAX_ENTITY_ID_LENGTH} characters` }),
  textProblem,
);

const nonEmptyFragment = idFragmentSchema.min(1, { error: 'must not be empty' });

/**
 * The body of a batch delete: exactly one selector (`strictObject` rejects bodies that mix them
 * with anything else). The ids of `entity_ids` are checked one by one: an invalid one is
 * reported among the response's errors and does not stop the others.
 */
const SELECTORS = new Map<string, z.ZodType>([
  ['namespace', z.strictObject({ namespace: nonEmptyFragment })],
  ['prefix', z.strictObject({ prefix: nonEmptyFragment })],
  [
    'entity_ids',
    z.strictObject({
      entity_ids: z.array(z.unknown().describe('An entity id; one that is not a valid id fails alone, listed in errors'), {
        error: 'must be an array of entity ids',
      }),
    }),
  ],
]);

export const deleteSelectorSchema = z.union([...SELECTORS.values()]) as z.ZodType<
  { namespace: string } | { prefix: string } | { entity_ids: unknown[] }
>;

export type DeleteSelector = z.output<typeof deleteSelectorSchema>;

const SELECTOR_HELP = 'body must be exactly one of {"namespace": ns}, {"prefix": p} or {"entity_ids": [...]}';

/**
 * Parses a batch-delete body. A body that names a selector is checked against that selector
 * alone, so the 400 names the field at fault (a union's own error would not).
 */
export function parseDeleteSelector(body: unknown): DeleteSelector {
  const parsed = deleteSelectorSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const named = typeof body === 'object' && body !== null && !Array.isArray(body) ? Object.keys(body).find((key) => SELECTORS.has(key)) : undefined;
  const issues = named === undefined ? [] : (SELECTORS.get(named)!.safeParse(body).error?.issues ?? []);
  throw new FluxError(ErrorCode.Validation, issues.length === 0 ? SELECTOR_HELP : `${SELECTOR_HELP} (${formatIssues(issues.slice(0, 1))})`);
}
