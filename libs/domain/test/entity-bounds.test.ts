import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ENTITY_BOUND, EntitySize, MergeBatch, exceededBound, exceededByEvent, type Properties, type StoredEntity } from '@flux/domain';

const event = (properties: Properties) => ({
  eventId: 'evt',
  stream: 's',
  source: 't',
  timestamp: 1,
  payload: { entity_id: 'g/e', properties },
});

const measured = (properties: Properties) => ({
  properties: Object.keys(properties).length,
  bytes: Buffer.byteLength(JSON.stringify(properties)),
});

/**
 * Merges `events` one by one the way the reducer does, checking after each that the size kept
 * incrementally equals a full measurement (of the JSON, and by EntitySize.of).
 */
function mergesMeasureExactly(events: readonly Properties[]): void {
  const merge = new MergeBatch();
  let current: StoredEntity | undefined;
  const size = EntitySize.of(undefined);
  for (const raw of events) {
    const incoming = JSON.parse(JSON.stringify(raw)) as Properties;
    const next = size.after(current?.properties ?? {}, incoming);
    const result = merge.apply(current, event(incoming), 1);
    if (result.kind !== 'upsert') throw new Error('expected an upsert');
    current = result.entity;
    next.commit();
    expect({ properties: size.properties, bytes: size.bytes }).toEqual(measured(current.properties));
    expect(EntitySize.of(current.properties).bytes).toBe(size.bytes);
  }
}

describe('EntitySize', () => {
  it('measures the UTF-8 bytes of the properties JSON', () => {
    const properties = JSON.parse('{"a": 1, "é": "ü", "__proto__": {"x": [1, 2]}}') as Properties;
    const size = EntitySize.of(properties);
    expect({ properties: size.properties, bytes: size.bytes }).toEqual(measured(properties));
    expect(EntitySize.of(undefined).bytes).toBe(2);
  });

  it('tracks merges incrementally exactly as a full measurement would', () => {
    const name = fc.constantFrom('a', 'b', 'ü', '__proto__', 'long name');
    const value = fc.oneof(fc.constant(null), fc.integer(), fc.string({ maxLength: 5 }), fc.array(fc.integer(), { maxLength: 3 }));
    fc.assert(fc.property(fc.array(fc.dictionary(name, value, { maxKeys: 3 }), { maxLength: 20 }), mergesMeasureExactly), { numRuns: 150 });
  });

  it('measures large events in bulk exactly as a full measurement would, mixed with small ones', () => {
    const name = fc.oneof(fc.string({ maxLength: 2 }), fc.constantFrom('__proto__', 'ü', 'constructor'));
    const value = fc.oneof(
      fc.constant(null),
      fc.integer(),
      fc.string({ maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 2 }), fc.boolean(), { maxKeys: 2 }),
    );
    const eventProperties = fc.oneof(fc.dictionary(name, value, { minKeys: 33, maxKeys: 80 }), fc.dictionary(name, value, { maxKeys: 3 }));
    fc.assert(fc.property(fc.array(eventProperties, { maxLength: 8 }), mergesMeasureExactly), { numRuns: 100 });
  });

  it('names the limit an entity would exceed', () => {
    expect(exceededBound({ properties: 10_001, bytes: 10 }, DEFAULT_ENTITY_BOUND)).toMatch(/limit of 10000/);
    expect(exceededBound({ properties: 1, bytes: 16_777_217 }, DEFAULT_ENTITY_BOUND)).toMatch(/limit of 16777216/);
    expect(exceededBound({ properties: 10_000, bytes: 16_777_216 }, DEFAULT_ENTITY_BOUND)).toBeUndefined();
  });
});

describe('exceededByEvent', () => {
  const bound = { maxProperties: 3, maxBytes: 40 };

  it('measures an event as the first of a new entity: removals take no room', () => {
    expect(exceededByEvent({ a: 1, b: 2, c: 3 }, bound)).toBeUndefined();
    expect(exceededByEvent({ a: 1, b: 2, c: 3, d: null, e: null }, bound)).toBeUndefined();
    expect(exceededByEvent({ a: 1, b: 2, c: 3, d: 4 }, bound)).toMatch(/4 properties, over the limit of 3/);
    expect(exceededByEvent({ text: 'x'.repeat(40) }, bound)).toMatch(/over the limit of 40/);
  });

  it('admits an event exactly up to the bound in bytes, whatever its size or nulls', () => {
    const value = fc.oneof(fc.constant(null), fc.integer(), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 3 }), value, { maxKeys: 60 }), (raw) => {
        const incoming = JSON.parse(JSON.stringify(raw)) as Properties;
        const kept = Object.fromEntries(Object.entries(incoming).filter(([, v]) => v !== null));
        const bytes = Buffer.byteLength(JSON.stringify(kept));
        expect(exceededByEvent(incoming, { maxProperties: 1_000, maxBytes: bytes })).toBeUndefined();
        expect(exceededByEvent(incoming, { maxProperties: 1_000, maxBytes: bytes - 1 })).toMatch(/over the limit/);
      }),
      { numRuns: 200 },
    );
  });

  it('counts properties before measuring bytes', () => {
    const many = Object.fromEntries(Array.from({ length: 10 }, (_, index) => [`p${index}`, 'y'.repeat(100)]));
    expect(exceededByEvent(many, bound)).toMatch(/10 properties/);
  });
});
