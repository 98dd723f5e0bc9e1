import { describe, expect, it } from 'vitest';
import { ErrorCode, FluxError, MAX_ENTITY_ID_LENGTH, parseEnvelope } from '@flux/domain';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const valid = () => ({
  stream: 'sensors.temperature',
  source: 'sensor-gateway',
  timestamp: 1_764_000_000_000,
  payload: { entity_id: 'dawn-coral/sensor-01', properties: { temperature: 21.5, unit: 'C' } },
});

/** Runs parseEnvelope expecting a validation error and returns its message. */
function rejectionOf(input: unknown): string {
  let caught: unknown;
  try {
    parseEnvelope(input);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(FluxError);
  const error = caught as FluxError;
  expect(error.code).toBe(ErrorCode.Validation);
  expect(error.code).toBe('FLUX_VALIDATION');
  return error.message;
}

const withField = (field: string, value: unknown): Record<string, unknown> => ({ ...valid(), [field]: value });
const without = (field: string): Record<string, unknown> => {
  const copy: Record<string, unknown> = { ...valid() };
  delete copy[field];
  return copy;
};
const withPayload = (payload: unknown): Record<string, unknown> => ({ ...valid(), payload });

describe('parseEnvelope: valid envelopes', () => {
  it('accepts a valid envelope and keeps its fields', () => {
    const event = parseEnvelope({ ...valid(), eventId: 'evt-123' });
    expect(event).toEqual({ ...valid(), eventId: 'evt-123' });
  });

  it('generates a UUIDv7 eventId when it is absent', () => {
    const event = parseEnvelope(valid());
    expect(event.eventId).toMatch(UUID_V7);
  });

  it('generates a UUIDv7 eventId when it is the empty string', () => {
    const event = parseEnvelope({ ...valid(), eventId: '' });
    expect(event.eventId).toMatch(UUID_V7);
  });

  it('generates a distinct eventId for each event', () => {
    const ids = new Set(Array.from({ length: 50 }, () => parseEnvelope(valid()).eventId));
    expect(ids.size).toBe(50);
  });

  it('uses the injected id generator for missing ids', () => {
    expect(parseEnvelope(valid(), () => 'fixed-id').eventId).toBe('fixed-id');
    expect(parseEnvelope({ ...valid(), eventId: 'mine' }, () => 'fixed-id').eventId).toBe('mine');
  });

  it('keeps key and schema', () => {
    const event = parseEnvelope({ ...valid(), key: 'group-7', schema: 'temperature/v2' });
    expect(event.key).toBe('group-7');
    expect(event.schema).toBe('temperature/v2');
  });

  it('does not invent key or schema when they are absent', () => {
    const event = parseEnvelope(valid());
    expect('key' in event).toBe(false);
    expect('schema' in event).toBe(false);
  });

  it('accepts streams of lowercase letters, digits and dots', () => {
    for (const stream of ['a', 'sensors', 'sensors.temperature', 'v2.a1.b3', '123']) {
      expect(parseEnvelope(withField('stream', stream)).stream).toBe(stream);
    }
  });

  it('accepts an entity id of exactly 512 characters', () => {
    const id = 'x'.repeat(MAX_ENTITY_ID_LENGTH);
    expect(parseEnvelope(withPayload({ entity_id: id, properties: {} })).payload.entity_id).toBe(id);
  });

  it('accepts an empty properties object and any JSON values', () => {
    expect(parseEnvelope(withPayload({ entity_id: 'a', properties: {} })).payload.properties).toEqual({});
    const properties = { n: 0, s: '', b: false, nil: null, arr: [1, [2]], obj: { deep: { er: true } } };
    expect(parseEnvelope(withPayload({ entity_id: 'a', properties })).payload.properties).toEqual(properties);
  });

  it('keeps a property named __proto__ as plain data without touching prototypes', () => {
    const body: unknown = JSON.parse(
      '{"stream":"s","source":"x","timestamp":1,"payload":{"entity_id":"a","properties":{"__proto__":{"polluted":true},"ok":1}}}',
    );
    const { properties } = parseEnvelope(body).payload;
    expect(Object.hasOwn(properties, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(properties, '__proto__')?.value).toEqual({ polluted: true });
    expect(Object.getPrototypeOf(properties)).toBe(Object.prototype);
    expect((properties as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.keys(properties)).toEqual(['__proto__', 'ok']);
    expect(JSON.stringify(properties)).toBe('{"__proto__":{"polluted":true},"ok":1}');
  });
});

describe('parseEnvelope: rejected envelopes', () => {
  it.each([null, undefined, 'event', 42, true, [valid()]])('rejects the non-object body %j', (body) => {
    expect(rejectionOf(body)).toMatch(/must be a JSON object/);
  });

  describe('stream', () => {
    it('is required', () => {
      expect(rejectionOf(without('stream'))).toMatch(/stream is required/);
    });
    it.each([
      ['uppercase', 'Sensors'],
      ['leading dot', '.sensors'],
      ['trailing dot', 'sensors.'],
      ['double dot', 'sensors..temp'],
      ['empty', ''],
      ['dash', 'sensor-data'],
      ['space', 'sensor data'],
    ])('rejects %s (%j)', (_label, stream) => {
      expect(rejectionOf(withField('stream', stream))).toMatch(/^stream /);
    });
    it('must be a string', () => {
      expect(rejectionOf(withField('stream', 7))).toMatch(/stream must be a string/);
    });
  });

  describe('source', () => {
    it('is required', () => {
      expect(rejectionOf(without('source'))).toMatch(/source is required/);
    });
    it('must not be empty', () => {
      expect(rejectionOf(withField('source', ''))).toMatch(/source must not be empty/);
    });
    it('must be a string', () => {
      expect(rejectionOf(withField('source', 12))).toMatch(/source must be a string/);
    });
  });

  describe('timestamp', () => {
    it('is required', () => {
      expect(rejectionOf(without('timestamp'))).toMatch(/timestamp is required/);
    });
    it.each([
      ['a string', '2026-11-24T10:30:45.123Z'],
      ['a numeric string', '1764000000000'],
      ['a float', 1_764_000_000_000.5],
      ['zero', 0],
      ['negative', -1],
      ['null', null],
    ])('rejects %s', (_label, timestamp) => {
      expect(rejectionOf(withField('timestamp', timestamp))).toMatch(/^timestamp /);
    });
    it('accepts 1, the smallest positive value', () => {
      expect(parseEnvelope(withField('timestamp', 1)).timestamp).toBe(1);
    });
  });

  describe('payload', () => {
    it('is required', () => {
      expect(rejectionOf(without('payload'))).toMatch(/payload is required/);
    });
    it.each([
      ['a string', 'x'],
      ['an array', []],
      ['null', null],
      ['a number', 3],
    ])('rejects a payload that is %s', (_label, payload) => {
      expect(rejectionOf(withPayload(payload))).toMatch(/^payload must be an object/);
    });
    it('rejects extra keys next to entity_id and properties', () => {
      const message = rejectionOf(withPayload({ entity_id: 'a', properties: {}, value: 3 }));
      expect(message).toMatch(/^payload /);
      expect(message).toContain('value');
    });
    it('rejects an own __proto__ key in the payload as an extra key', () => {
      const body: unknown = JSON.parse('{"stream":"s","source":"x","timestamp":1,"payload":{"entity_id":"a","properties":{},"__proto__":{"x":1}}}');
      expect(rejectionOf(body)).toContain('__proto__');
    });
  });

  describe('payload.entity_id', () => {
    it('is required', () => {
      expect(rejectionOf(withPayload({ properties: {} }))).toMatch(/payload\.entity_id is required/);
    });
    it.each([
      ['a number', 42],
      ['null', null],
      ['an object', { id: 'a' }],
    ])('rejects an entity_id that is %s', (_label, entityId) => {
      expect(rejectionOf(withPayload({ entity_id: entityId, properties: {} }))).toMatch(/payload\.entity_id must be a string/);
    });
    it('must not be empty', () => {
      expect(rejectionOf(withPayload({ entity_id: '', properties: {} }))).toMatch(/payload\.entity_id must not be empty/);
    });
    it('must be at most 512 characters', () => {
      const message = rejectionOf(withPayload({ entity_id: 'x'.repeat(513), properties: {} }));
      expect(message).toMatch(/payload\.entity_id must be at most 512 characters/);
    });
    it.each([
      ['newline', 'a\nb'],
      ['NUL', 'a\u0000b'],
      ['tab', '\ta'],
      ['DEL', 'a\u007f'],
      ['C1 NEL', 'a\u0085b'],
    ])('rejects a %s control character', (_label, entityId) => {
      expect(rejectionOf(withPayload({ entity_id: entityId, properties: {} }))).toMatch(/payload\.entity_id must not contain control characters/);
    });
  });

  describe('payload.properties', () => {
    it('is required', () => {
      expect(rejectionOf(withPayload({ entity_id: 'a' }))).toMatch(/payload\.properties is required/);
    });
    it.each([
      ['an array', [1, 2]],
      ['null', null],
      ['a string', '{"a":1}'],
      ['a number', 1],
    ])('rejects properties that are %s', (_label, properties) => {
      expect(rejectionOf(withPayload({ entity_id: 'a', properties }))).toMatch(/payload\.properties must be an object/);
    });
    it('rejects an empty property name', () => {
      expect(rejectionOf(withPayload({ entity_id: 'a', properties: { '': 1 } }))).toMatch(/payload\.properties /);
    });
  });

  it('names every offending field in one message', () => {
    const message = rejectionOf({ stream: 'Bad', source: '', timestamp: 0, payload: { entity_id: '', properties: [] } });
    for (const field of ['stream', 'source', 'timestamp', 'payload.entity_id', 'payload.properties']) {
      expect(message).toContain(field);
    }
  });

  it('rejects a non-string eventId, key or schema', () => {
    expect(rejectionOf(withField('eventId', 5))).toMatch(/eventId must be a string/);
    expect(rejectionOf(withField('key', 5))).toMatch(/key must be a string/);
    expect(rejectionOf(withField('schema', {}))).toMatch(/schema must be a string/);
  });
});

describe('parseEnvelope: conditions', () => {
  it('keeps if_version (0 included) and if_absent: true; if_absent: false is no condition', () => {
    expect(parseEnvelope({ ...valid(), if_version: 0 })).toMatchObject({ if_version: 0 });
    expect(parseEnvelope({ ...valid(), if_version: 7 })).toMatchObject({ if_version: 7 });
    expect(parseEnvelope({ ...valid(), if_absent: true })).toMatchObject({ if_absent: true });
    const unconditional = parseEnvelope({ ...valid(), if_absent: false });
    expect(unconditional).not.toHaveProperty('if_absent');
    expect(unconditional).not.toHaveProperty('if_version');
  });

  it('refuses conditions of the wrong type or range, naming the field', () => {
    for (const value of [-1, 1.5, '3', null, true, Number.MAX_SAFE_INTEGER + 2]) {
      expect(rejectionOf(withField('if_version', value)), String(value)).toContain('if_version');
    }
    for (const value of ['true', 1, null, {}]) {
      expect(rejectionOf(withField('if_absent', value)), String(value)).toContain('if_absent');
    }
  });

  it('refuses both conditions on one event', () => {
    expect(rejectionOf({ ...valid(), if_version: 0, if_absent: true })).toMatch(/if_version and if_absent/);
    expect(rejectionOf({ ...valid(), if_version: 2, if_absent: false })).toMatch(/if_version and if_absent/);
  });
});
