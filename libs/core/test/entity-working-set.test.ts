import { describe, expect, it } from 'vitest';
import { EntitySize, type StoredEntity } from '@flux/domain';
import { EntityWorkingSet } from '../src/reducer/entity-working-set.js';

const entity = (n: number): StoredEntity => ({ properties: { n }, version: n, lastUpdated: 1 });
/** A size of exactly `bytes` bytes of JSON: `{"s":"xx…"}` is 8 bytes plus the string. */
const sizeOf = (bytes: number): EntitySize => EntitySize.of({ s: 'x'.repeat(bytes - 8) });

describe('EntityWorkingSet', () => {
  it('tells a known entity, a known absence and an unknown id apart, per partition', () => {
    const working = new EntityWorkingSet(1_000);
    working.set(0, 'a', entity(1), sizeOf(10));
    working.set(0, 'gone', undefined, EntitySize.of(undefined));
    expect(working.get(0, 'a')?.entity).toEqual(entity(1));
    expect(working.get(0, 'a')?.size.bytes).toBe(10);
    expect(working.get(0, 'gone')).toMatchObject({ entity: undefined });
    expect(working.get(0, 'other')).toBeUndefined();
    expect(working.get(1, 'a')).toBeUndefined();
  });

  it('forgets one partition and keeps the others', () => {
    const working = new EntityWorkingSet(1_000);
    working.set(0, 'a', entity(1), sizeOf(10));
    working.set(1, 'a', entity(2), sizeOf(10));
    working.forget(0);
    expect(working.get(0, 'a')).toBeUndefined();
    expect(working.get(1, 'a')?.entity).toEqual(entity(2));
  });

  it('stays within its bytes, dropping the least recently stored entries first', () => {
    const working = new EntityWorkingSet(100);
    for (let i = 0; i < 10; i++) working.set(0, `e${i}`, entity(i), sizeOf(18)); // 20 bytes each with the id
    working.set(0, 'e0', entity(100), sizeOf(18)); // stored again: now the newest
    const kept = Array.from({ length: 10 }, (_, i) => `e${i}`).filter((id) => working.get(0, id) !== undefined);
    expect(kept).toEqual(['e0', 'e6', 'e7', 'e8', 'e9']);
    working.set(0, 'huge', entity(0), sizeOf(1_000));
    expect(working.get(0, 'huge')).toBeUndefined();
    expect(working.get(0, 'e9')).toBeDefined();
  });
});
