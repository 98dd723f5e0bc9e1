import { describe, expect, it } from 'vitest';
import { DEFAULT_ENTITY_BOUND, EntitySize, type StoredEntity } from '@flux/domain';
import { ENTITY_WORKING_SET_MAX_BYTES, EntityWorkingSet, entryHeapBytes } from '../src/reducer/entity-working-set.js';

const entity = (n: number): StoredEntity => ({ properties: { n }, version: n, lastUpdated: 1 });
/** A size of exactly `bytes` bytes of JSON: `{"s":"xx…"}` is 8 bytes plus the string. */
const sizeOf = (bytes: number): EntitySize => EntitySize.of({ s: 'x'.repeat(bytes - 8) });

describe('EntityWorkingSet', () => {
  it('tells a known entity, a known absence and an unknown id apart, per partition', () => {
    const working = new EntityWorkingSet(1 << 20);
    working.set(0, 'a', entity(1), sizeOf(10));
    working.set(0, 'gone', undefined, EntitySize.of(undefined));
    expect(working.get(0, 'a')?.entity).toEqual(entity(1));
    expect(working.get(0, 'a')?.size.bytes).toBe(10);
    expect(working.get(0, 'gone')).toMatchObject({ entity: undefined });
    expect(working.get(0, 'other')).toBeUndefined();
    expect(working.get(1, 'a')).toBeUndefined();
  });

  it('forgets one partition and keeps the others', () => {
    const working = new EntityWorkingSet(1 << 20);
    working.set(0, 'a', entity(1), sizeOf(10));
    working.set(1, 'a', entity(2), sizeOf(10));
    working.forget(0);
    expect(working.get(0, 'a')).toBeUndefined();
    expect(working.get(1, 'a')?.entity).toEqual(entity(2));
  });

  it('stays within its bytes, dropping the least recently stored entries first', () => {
    const working = new EntityWorkingSet(5 * entryHeapBytes('e0', sizeOf(18))); // room for five
    for (let i = 0; i < 10; i++) working.set(0, `e${i}`, entity(i), sizeOf(18));
    working.set(0, 'e0', entity(100), sizeOf(18)); // stored again: now the newest
    const kept = Array.from({ length: 10 }, (_, i) => `e${i}`).filter((id) => working.get(0, id) !== undefined);
    expect(kept).toEqual(['e0', 'e6', 'e7', 'e8', 'e9']);
    working.set(0, 'huge', entity(0), sizeOf(10_000));
    expect(working.get(0, 'huge')).toBeUndefined();
    expect(working.get(0, 'e9')).toBeDefined();
  });

  it('counts what an entry takes in the heap, not only its JSON', () => {
    // 1 MiB of small entities' JSON would be about 16,000 entities of three properties: in the
    // heap they take about 600 bytes each, so 1 MiB holds fewer than 1,500.
    const working = new EntityWorkingSet(1 << 20);
    const ids = Array.from({ length: 16_000 }, (_, i) => `ns/sensor-${String(i).padStart(6, '0')}`);
    const properties = { n: 1, name: 'entity number 1', ok: true };
    for (const [i, id] of ids.entries()) working.set(i % 12, id, { properties, version: 1, lastUpdated: 1 }, EntitySize.of(properties));
    const kept = ids.filter((id, i) => working.get(i % 12, id) !== undefined).length;
    expect(kept).toBeGreaterThan(1_000);
    expect(kept).toBeLessThan(1_500);
  });

  it('keeps an entity as large as the default bound admits, with room for others', () => {
    const working = new EntityWorkingSet();
    expect(ENTITY_WORKING_SET_MAX_BYTES).toBeGreaterThan(entryHeapBytes('big', sizeOf(DEFAULT_ENTITY_BOUND.maxBytes)));
    working.set(0, 'big', entity(1), sizeOf(DEFAULT_ENTITY_BOUND.maxBytes));
    working.set(0, 'small', entity(2), sizeOf(100));
    expect(working.get(0, 'big')).toBeDefined();
    expect(working.get(0, 'small')).toBeDefined();
  });
});
