import { describe, expect, it } from 'vitest';
import type { StoredEntity } from '@flux/domain';
import { EntityCache } from '../src/entity-cache.js';

const entity = (n: number): StoredEntity => ({ properties: { n }, version: n, lastUpdated: 1 });

describe('EntityCache', () => {
  it('tells a known entity, a known absence and an unknown id apart, per partition', () => {
    const cache = new EntityCache(1_000);
    cache.set(0, 'a', entity(1), 10);
    cache.set(0, 'gone', undefined, 0);
    expect(cache.get(0, 'a')?.entity).toEqual(entity(1));
    expect(cache.get(0, 'gone')).toEqual({ entity: undefined, bytes: 4 });
    expect(cache.get(0, 'other')).toBeUndefined();
    expect(cache.get(1, 'a')).toBeUndefined();
  });

  it('forgets one partition and keeps the others', () => {
    const cache = new EntityCache(1_000);
    cache.set(0, 'a', entity(1), 10);
    cache.set(1, 'a', entity(2), 10);
    cache.forget(0);
    expect(cache.get(0, 'a')).toBeUndefined();
    expect(cache.get(1, 'a')?.entity).toEqual(entity(2));
  });

  it('stays within its bytes, dropping the least recently stored entries first', () => {
    const cache = new EntityCache(100);
    for (let i = 0; i < 10; i++) cache.set(0, `e${i}`, entity(i), 18); // 20 bytes each with the id
    cache.set(0, 'e0', entity(100), 18); // stored again: now the newest
    const kept = Array.from({ length: 10 }, (_, i) => `e${i}`).filter((id) => cache.get(0, id) !== undefined);
    expect(kept).toEqual(['e0', 'e6', 'e7', 'e8', 'e9']);
    cache.set(0, 'huge', entity(0), 1_000);
    expect(cache.get(0, 'huge')).toBeUndefined();
    expect(cache.get(0, 'e9')).toBeDefined();
  });
});
