import { z } from 'zod';
import { ErrorCode, FluxError, formatIssues } from '@flux/domain';

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
