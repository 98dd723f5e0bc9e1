import { z } from 'zod';
import { FluxError, ErrorCode } from './errors.js';
import { formatIssues } from './envelope.js';

/** Limits an admin can change at runtime; the JSON names are the API's. */
export interface RuntimeConfig {
  readonly rate_limit_enabled: boolean;
  readonly rate_limit_per_namespace_per_minute: number;
  readonly body_size_limit_single_bytes: number;
  readonly body_size_limit_batch_bytes: number;
}

export const DEFAULT_RUNTIME_CONFIG: RuntimeConfig = {
  rate_limit_enabled: true,
  rate_limit_per_namespace_per_minute: 10_000,
  body_size_limit_single_bytes: 1_048_576,
  body_size_limit_batch_bytes: 10_485_760,
};

/** Above this no request body is accepted, whatever the runtime config says. */
export const MAX_BODY_LIMIT_BYTES = 256 * 1024 * 1024;

/**
 * The smallest values a limit may take. Below them the API is unusable (no event fits, or no
 * namespace can write at all), so they are refused, and a persisted config below them (from
 * an older version) is raised to them on load.
 */
export const RUNTIME_CONFIG_FLOORS = {
  rate_limit_per_namespace_per_minute: 1,
  body_size_limit_single_bytes: 1024,
  body_size_limit_batch_bytes: 65_536,
} as const satisfies Partial<Record<keyof RuntimeConfig, number>>;

const count = z
  .number({ error: (issue) => `must be a number, got ${issue.input === null ? 'null' : typeof issue.input}` })
  .int({ error: 'must be an integer' })
  .nonnegative({ error: 'must not be negative' });
const atLeast = (schema: z.ZodNumber, floor: number) => schema.min(floor, { error: `must be at least ${floor}` });
const bytes = (floor: number) => atLeast(count, floor).max(MAX_BODY_LIMIT_BYTES, { error: `must be at most ${MAX_BODY_LIMIT_BYTES}` });

export const runtimeConfigSchema = z.strictObject({
  rate_limit_enabled: z.boolean({ error: 'must be a boolean' }),
  rate_limit_per_namespace_per_minute: atLeast(count, RUNTIME_CONFIG_FLOORS.rate_limit_per_namespace_per_minute),
  body_size_limit_single_bytes: bytes(RUNTIME_CONFIG_FLOORS.body_size_limit_single_bytes),
  body_size_limit_batch_bytes: bytes(RUNTIME_CONFIG_FLOORS.body_size_limit_batch_bytes),
});

export const runtimeConfigUpdateSchema = runtimeConfigSchema.partial();
export type RuntimeConfigUpdate = z.infer<typeof runtimeConfigUpdateSchema>;

export function parseRuntimeConfigUpdate(input: unknown): RuntimeConfigUpdate {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FluxError(ErrorCode.Validation, 'config update must be a JSON object');
  }
  const result = runtimeConfigUpdateSchema.safeParse(input);
  if (!result.success) throw new FluxError(ErrorCode.Validation, formatIssues(result.error.issues));
  return result.data;
}

export const applyRuntimeConfigUpdate = (current: RuntimeConfig, update: RuntimeConfigUpdate): RuntimeConfig => ({
  ...current,
  ...Object.fromEntries(Object.entries(update).filter(([, value]) => value !== undefined)),
});

/** The limits of `config` that lie below their floor, each with the floor it is raised to. */
export function limitsBelowFloor(config: RuntimeConfig): Partial<Record<keyof typeof RUNTIME_CONFIG_FLOORS, number>> {
  const below: Partial<Record<keyof typeof RUNTIME_CONFIG_FLOORS, number>> = {};
  for (const [key, floor] of Object.entries(RUNTIME_CONFIG_FLOORS) as [keyof typeof RUNTIME_CONFIG_FLOORS, number][]) {
    if (!(config[key] >= floor)) below[key] = floor;
  }
  return below;
}
