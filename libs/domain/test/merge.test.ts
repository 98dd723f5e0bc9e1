import { describe, expect, it } from 'vitest';
import { applyEvent, type AppliedEvent, type FluxEvent, type Properties, type StoredEntity } from '@flux/domain';

const event = (properties: Properties, entityId = 'dawn-coral/sensor-01'): FluxEvent => ({
  eventId: 'evt',
  stream: 'sensors',
  source: 'test',
  timestamp: 1,
  payload: { entity_id: entityId, properties },
});

function upsert(result: AppliedEvent) {
  if (result.kind !== 'upsert') throw new Error(`expected an upsert, got ${result.kind}`);
  return result;
}

/** Applies events in order, as the single writer of an entity does. */
function replay(...propertiesList: Properties[]): StoredEntity | undefined {
  let current: StoredEntity | undefined;
  propertiesList.forEach((properties, index) => {
    const result = applyEvent(current, event(properties), 1000 + index);
    current = result.kind === 'upsert' ? result.entity : undefined;
  });
  return current;
}

describe('applyEvent', () => {
  it('creates an entity on the first event with version 1', () => {
    const result = upsert(applyEvent(undefined, event({ temperature: 21, unit: 'C' }), 5000));
    expect(result.created).toBe(true);
    expect(result.entity).toEqual({ properties: { temperature: 21, unit: 'C' }, version: 1, lastUpdated: 5000 });
  });

  it('merges top-level properties, keeping the ones not in the event', () => {
    const entity = replay({ temperature: 21, unit: 'C' }, { temperature: 22, humidity: 40 });
    expect(entity?.properties).toEqual({ temperature: 22, unit: 'C', humidity: 40 });
  });

  it('reports created false for an existing entity', () => {
    const first = upsert(applyEvent(undefined, event({ a: 1 }), 1));
    expect(upsert(applyEvent(first.entity, event({ a: 2 }), 2)).created).toBe(false);
  });

  it('replaces nested objects whole instead of deep-merging them', () => {
    const entity = replay({ location: { lat: 1, lon: 2, alt: 3 } }, { location: { lat: 5 } });
    expect(entity?.properties).toEqual({ location: { lat: 5 } });
  });

  it('replaces arrays whole', () => {
    const entity = replay({ tags: ['a', 'b', 'c'] }, { tags: ['z'] });
    expect(entity?.properties).toEqual({ tags: ['z'] });
  });

  it('removes a property whose value is null and reports the change with value null', () => {
    const first = upsert(applyEvent(undefined, event({ temperature: 21, unit: 'C' }), 1));
    const second = upsert(applyEvent(first.entity, event({ unit: null }), 2));
    expect(second.entity.properties).toEqual({ temperature: 21 });
    expect(Object.hasOwn(second.entity.properties, 'unit')).toBe(false);
    expect(second.changes).toEqual([{ property: 'unit', value: null }]);
  });

  it('treats null for an absent property as a no-op removal that is still reported', () => {
    const result = upsert(applyEvent(undefined, event({ ghost: null, real: 1 }), 1));
    expect(result.entity.properties).toEqual({ real: 1 });
    expect(result.changes).toEqual([
      { property: 'ghost', value: null },
      { property: 'real', value: 1 },
    ]);
  });

  it('keeps falsy non-null values', () => {
    const entity = replay({ a: 0, b: '', c: false, d: [] });
    expect(entity?.properties).toEqual({ a: 0, b: '', c: false, d: [] });
  });

  it('deletes the entity on __deleted__: true and says whether it existed', () => {
    const existing = upsert(applyEvent(undefined, event({ a: 1 }), 1)).entity;
    expect(applyEvent(existing, event({ __deleted__: true }), 2)).toEqual({ kind: 'delete', existed: true });
    expect(applyEvent(undefined, event({ __deleted__: true }), 2)).toEqual({ kind: 'delete', existed: false });
  });

  it('deletes even when the tombstone carries other properties', () => {
    const existing = upsert(applyEvent(undefined, event({ a: 1 }), 1)).entity;
    expect(applyEvent(existing, event({ __deleted__: true, b: 2 }), 2).kind).toBe('delete');
  });

  it('does not treat __deleted__ values other than true as a deletion', () => {
    for (const value of [false, 'true', 1]) {
      const result = upsert(applyEvent(undefined, event({ __deleted__: value }), 1));
      expect(result.entity.properties).toEqual({ __deleted__: value });
    }
  });

  it('starts a fresh entity at version 1 after a deletion, with none of the old properties', () => {
    const entity = replay({ a: 1, b: 2 }, { c: 3 }, { __deleted__: true }, { d: 4 });
    expect(entity).toEqual({ properties: { d: 4 }, version: 1, lastUpdated: 1003 });
  });

  it('increments version by one per applied event', () => {
    let current: StoredEntity | undefined;
    for (let i = 1; i <= 5; i++) {
      current = upsert(applyEvent(current, event({ n: i }), i)).entity;
      expect(current.version).toBe(i);
    }
  });

  it('reports one change per property of the event, even when the value did not change', () => {
    const first = upsert(applyEvent(undefined, event({ a: 1, b: 'x' }), 1));
    const second = upsert(applyEvent(first.entity, event({ a: 1, b: 'x', c: true }), 2));
    expect(second.changes).toEqual([
      { property: 'a', value: 1 },
      { property: 'b', value: 'x' },
      { property: 'c', value: true },
    ]);
    expect(second.entity.version).toBe(2);
  });

  it('reports no changes for an event with no properties, but still counts it', () => {
    const first = upsert(applyEvent(undefined, event({ a: 1 }), 1));
    const second = upsert(applyEvent(first.entity, event({}), 2));
    expect(second.changes).toEqual([]);
    expect(second.entity).toEqual({ properties: { a: 1 }, version: 2, lastUpdated: 2 });
  });

  it('stores a __proto__ key as own data without changing the prototype', () => {
    const incoming = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as Properties;
    const first = upsert(applyEvent(undefined, event(incoming), 1));
    const { properties } = first.entity;
    expect(Object.hasOwn(properties, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(properties, '__proto__')?.value).toEqual({ polluted: true });
    expect(Object.getPrototypeOf(properties)).toBe(Object.prototype);
    expect((properties as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(first.changes).toEqual([
      { property: '__proto__', value: { polluted: true } },
      { property: 'ok', value: 1 },
    ]);

    // It survives a later merge, can be replaced and can be removed like any other property.
    const second = upsert(applyEvent(first.entity, event({ other: 2 }), 2));
    expect(Object.getOwnPropertyDescriptor(second.entity.properties, '__proto__')?.value).toEqual({ polluted: true });
    expect(Object.getPrototypeOf(second.entity.properties)).toBe(Object.prototype);

    const replaced = upsert(applyEvent(second.entity, event(JSON.parse('{"__proto__": 7}') as Properties), 3));
    expect(Object.getOwnPropertyDescriptor(replaced.entity.properties, '__proto__')?.value).toBe(7);
    expect(Object.getPrototypeOf(replaced.entity.properties)).toBe(Object.prototype);

    const removed = upsert(applyEvent(replaced.entity, event(JSON.parse('{"__proto__": null}') as Properties), 4));
    expect(Object.hasOwn(removed.entity.properties, '__proto__')).toBe(false);
    expect(removed.entity.properties).toEqual({ ok: 1, other: 2 });
    expect(Object.getPrototypeOf(removed.entity.properties)).toBe(Object.prototype);
  });

  it('does not mutate the current entity or the event', () => {
    const currentProperties = { a: 1, b: { nested: true }, c: 3 };
    const current: StoredEntity = { properties: currentProperties, version: 4, lastUpdated: 10 };
    const incoming = { a: 2, b: null, d: [1] };
    const currentSnapshot = structuredClone(current);
    const incomingSnapshot = structuredClone(incoming);

    const result = upsert(applyEvent(current, event(incoming), 20));

    expect(current).toEqual(currentSnapshot);
    expect(incoming).toEqual(incomingSnapshot);
    expect(result.entity.properties).not.toBe(currentProperties);
    expect(result.entity.properties).toEqual({ a: 2, c: 3, d: [1] });
  });

  it('sets lastUpdated to the time Flux stored the event, not the producer timestamp', () => {
    const e = { ...event({ a: 1 }), timestamp: 42 };
    const first = upsert(applyEvent(undefined, e, 1_764_000_000_000));
    expect(first.entity.lastUpdated).toBe(1_764_000_000_000);
    const second = upsert(applyEvent(first.entity, e, 1_764_000_000_500));
    expect(second.entity.lastUpdated).toBe(1_764_000_000_500);
  });
});
