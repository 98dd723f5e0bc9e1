import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RUNTIME_CONFIG,
  ErrorCode,
  FluxError,
  MAX_BODY_LIMIT_BYTES,
  applyRuntimeConfigUpdate,
  limitsBelowFloor,
  parseRuntimeConfigUpdate,
  type RuntimeConfig,
} from '@flux/domain';

function rejectionOf(input: unknown): string {
  let caught: unknown;
  try {
    parseRuntimeConfigUpdate(input);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(FluxError);
  expect((caught as FluxError).code).toBe(ErrorCode.Validation);
  return (caught as FluxError).message;
}

describe('DEFAULT_RUNTIME_CONFIG', () => {
  it('has the defaults of the contract', () => {
    expect(DEFAULT_RUNTIME_CONFIG).toEqual({
      rate_limit_enabled: true,
      rate_limit_per_namespace_per_minute: 10_000,
      body_size_limit_single_bytes: 1_048_576,
      body_size_limit_batch_bytes: 10_485_760,
    });
  });
});

describe('parseRuntimeConfigUpdate', () => {
  it('accepts the full set of keys', () => {
    const full = {
      rate_limit_enabled: false,
      rate_limit_per_namespace_per_minute: 50,
      body_size_limit_single_bytes: 2048,
      body_size_limit_batch_bytes: 65_536,
    };
    expect(parseRuntimeConfigUpdate(full)).toEqual(full);
  });

  it.each([
    [{}],
    [{ rate_limit_enabled: false }],
    [{ rate_limit_per_namespace_per_minute: 5 }],
    [{ body_size_limit_single_bytes: 1024 }],
    [{ body_size_limit_batch_bytes: 20_000_000, rate_limit_enabled: true }],
  ])('accepts the subset %j', (update) => {
    expect(parseRuntimeConfigUpdate(update)).toEqual(update);
  });

  it.each([
    ['body_size_limit_single_bytes', 0, 1024],
    ['body_size_limit_single_bytes', 1023, 1024],
    ['body_size_limit_batch_bytes', 65_535, 65_536],
    ['rate_limit_per_namespace_per_minute', 0, 1],
  ])('defect 1: rejects %s = %d below its floor, naming the field and the floor', (key, value, floor) => {
    expect(rejectionOf({ [key]: value })).toMatch(new RegExp(`${key}.*at least ${floor}`));
    expect(parseRuntimeConfigUpdate({ [key]: floor })).toEqual({ [key]: floor });
  });

  it('defect 1: limitsBelowFloor names the limits a stored config must be raised on', () => {
    expect(limitsBelowFloor(DEFAULT_RUNTIME_CONFIG)).toEqual({});
    expect(limitsBelowFloor({ ...DEFAULT_RUNTIME_CONFIG, body_size_limit_single_bytes: 0, rate_limit_per_namespace_per_minute: 0 })).toEqual({
      body_size_limit_single_bytes: 1024,
      rate_limit_per_namespace_per_minute: 1,
    });
  });

  it.each([
    ['rate_limit_enabled', 'true'],
    ['rate_limit_enabled', 1],
    ['rate_limit_enabled', null],
    ['rate_limit_per_namespace_per_minute', '100'],
    ['rate_limit_per_namespace_per_minute', true],
    ['rate_limit_per_namespace_per_minute', null],
    ['body_size_limit_single_bytes', '1mb'],
    ['body_size_limit_batch_bytes', [1]],
  ])('rejects %s = %j (wrong type) naming the field', (key, value) => {
    expect(rejectionOf({ [key]: value })).toContain(key);
  });

  it.each(['rate_limit_per_namespace_per_minute', 'body_size_limit_single_bytes', 'body_size_limit_batch_bytes'])('rejects a negative %s', (key) => {
    expect(rejectionOf({ [key]: -1 })).toMatch(new RegExp(`${key} must not be negative`));
  });

  it.each(['rate_limit_per_namespace_per_minute', 'body_size_limit_single_bytes', 'body_size_limit_batch_bytes'])(
    'rejects a fractional %s',
    (key) => {
      expect(rejectionOf({ [key]: 10.5 })).toMatch(new RegExp(`${key} must be an integer`));
    },
  );

  it('rejects body limits above the hard maximum', () => {
    expect(rejectionOf({ body_size_limit_batch_bytes: MAX_BODY_LIMIT_BYTES + 1 })).toContain('body_size_limit_batch_bytes');
    expect(parseRuntimeConfigUpdate({ body_size_limit_batch_bytes: MAX_BODY_LIMIT_BYTES })).toEqual({
      body_size_limit_batch_bytes: MAX_BODY_LIMIT_BYTES,
    });
  });

  it('rejects unknown keys, naming them', () => {
    expect(rejectionOf({ rate_limit: 5 })).toContain('rate_limit');
    expect(rejectionOf({ rate_limit_enabled: true, extra: 1 })).toContain('extra');
  });

  it('rejects an own __proto__ key as unknown', () => {
    expect(rejectionOf(JSON.parse('{"__proto__": {"rate_limit_enabled": false}}'))).toContain('__proto__');
  });

  it.each([null, undefined, 'config', 5, true, [], [{ rate_limit_enabled: true }]])('rejects the non-object %j', (input) => {
    expect(rejectionOf(input)).toMatch(/must be a JSON object/);
  });

  it('names every offending field', () => {
    const message = rejectionOf({ rate_limit_enabled: 'yes', rate_limit_per_namespace_per_minute: -5 });
    expect(message).toContain('rate_limit_enabled');
    expect(message).toContain('rate_limit_per_namespace_per_minute');
  });
});

describe('applyRuntimeConfigUpdate', () => {
  it('changes only the keys in the update', () => {
    const updated = applyRuntimeConfigUpdate(DEFAULT_RUNTIME_CONFIG, { rate_limit_per_namespace_per_minute: 5 });
    expect(updated).toEqual({ ...DEFAULT_RUNTIME_CONFIG, rate_limit_per_namespace_per_minute: 5 });
  });

  it('returns the current config for an empty update', () => {
    expect(applyRuntimeConfigUpdate(DEFAULT_RUNTIME_CONFIG, {})).toEqual(DEFAULT_RUNTIME_CONFIG);
  });

  it('applies false and 0, which are values, not absences', () => {
    const updated = applyRuntimeConfigUpdate(DEFAULT_RUNTIME_CONFIG, {
      rate_limit_enabled: false,
      rate_limit_per_namespace_per_minute: 0,
    });
    expect(updated.rate_limit_enabled).toBe(false);
    expect(updated.rate_limit_per_namespace_per_minute).toBe(0);
  });

  it('ignores keys explicitly set to undefined', () => {
    const updated = applyRuntimeConfigUpdate(DEFAULT_RUNTIME_CONFIG, { rate_limit_enabled: undefined });
    expect(updated).toEqual(DEFAULT_RUNTIME_CONFIG);
    expect(updated.rate_limit_enabled).toBe(true);
  });

  it('accumulates successive updates', () => {
    let config: RuntimeConfig = DEFAULT_RUNTIME_CONFIG;
    config = applyRuntimeConfigUpdate(config, parseRuntimeConfigUpdate({ rate_limit_enabled: false }));
    config = applyRuntimeConfigUpdate(config, parseRuntimeConfigUpdate({ body_size_limit_single_bytes: 2048 }));
    expect(config).toEqual({ ...DEFAULT_RUNTIME_CONFIG, rate_limit_enabled: false, body_size_limit_single_bytes: 2048 });
  });

  it('does not mutate the current config', () => {
    const current = { ...DEFAULT_RUNTIME_CONFIG };
    applyRuntimeConfigUpdate(current, { rate_limit_enabled: false });
    expect(current).toEqual(DEFAULT_RUNTIME_CONFIG);
  });
});
