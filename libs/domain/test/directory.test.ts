import { describe, expect, it } from 'vitest';
import { buildDirectory, countKeyFor, type EntityCounts } from '@flux/domain';

const NOW = Date.UTC(2026, 10, 24, 10, 30, 45, 123);

/** Counts ids the way a store does: per countKeyFor key, system entities left out. */
function countIds(ids: readonly string[]): EntityCounts {
  const byNamespace: Record<string, number> = {};
  let total = 0;
  for (const id of ids) {
    const key = countKeyFor(id);
    if (key === undefined) continue;
    byNamespace[key] = (byNamespace[key] ?? 0) + 1;
    total += 1;
  }
  return { total, byNamespace };
}

describe('countKeyFor', () => {
  it.each([
    ['dawn-coral/sensor-01', 'dawn-coral'],
    ['github/org/repo', 'github'],
    ['plain', ''],
    ['/leading', ''],
    ['flux-core', ''],
  ])('counts %j under %j', (id, key) => {
    expect(countKeyFor(id)).toBe(key);
  });

  it.each(['flux-core/directory', 'flux-core/other'])('never counts the system entity %j', (id) => {
    expect(countKeyFor(id)).toBeUndefined();
  });
});

describe('buildDirectory', () => {
  const ids = [
    'dawn-coral/sensor-01',
    'dawn-coral/sensor-02',
    'dawn-coral/deep/nested',
    'alpha/x',
    'plain-id',
    'another-plain',
    'flux-core/directory',
    'flux-core/something',
  ];

  it('lists every namespace holding entities (internal mode), without flux-core or ids lacking a namespace', () => {
    const directory = buildDirectory(countIds(ids), NOW);
    expect(directory).toEqual({
      namespaces: { alpha: { entities: 1 }, 'dawn-coral': { entities: 3 } },
      namespace_count: 2,
      total_entities: 6,
      updated_at: '2026-11-24T10:30:45.123Z',
    });
  });

  it('excludes flux-core and the empty key even if counts carry them', () => {
    const counts: EntityCounts = { total: 7, byNamespace: { 'flux-core': 2, '': 3, ns1: 2 } };
    const directory = buildDirectory(counts, NOW);
    expect(directory.namespaces).toEqual({ ns1: { entities: 2 } });
    expect(directory.namespace_count).toBe(1);
  });

  it('leaves out namespaces whose count dropped to zero (internal mode)', () => {
    const directory = buildDirectory({ total: 1, byNamespace: { gone: 0, here: 1 } }, NOW);
    expect(directory.namespaces).toEqual({ here: { entities: 1 } });
  });

  it('lists exactly the registered namespaces when given (public mode), including empty ones', () => {
    const directory = buildDirectory(countIds(ids), NOW, ['dawn-coral', 'fresh-ns', 'flux-core']);
    expect(directory).toEqual({
      namespaces: { 'dawn-coral': { entities: 3 }, 'fresh-ns': { entities: 0 } },
      namespace_count: 2,
      total_entities: 6,
      updated_at: '2026-11-24T10:30:45.123Z',
    });
  });

  it('reports an empty directory', () => {
    expect(buildDirectory({ total: 0, byNamespace: {} }, NOW)).toEqual({
      namespaces: {},
      namespace_count: 0,
      total_entities: 0,
      updated_at: '2026-11-24T10:30:45.123Z',
    });
    expect(buildDirectory({ total: 0, byNamespace: {} }, NOW, []).namespace_count).toBe(0);
  });

  it('orders namespaces by name', () => {
    const directory = buildDirectory({ total: 3, byNamespace: { zeta: 1, alpha: 1, mid: 1 } }, NOW);
    expect(Object.keys(directory.namespaces)).toEqual(['alpha', 'mid', 'zeta']);
    const registered = buildDirectory({ total: 0, byNamespace: {} }, NOW, ['zzz', 'aaa']);
    expect(Object.keys(registered.namespaces)).toEqual(['aaa', 'zzz']);
  });

  it('does not modify the registered list it was given', () => {
    const registered = ['zzz', 'aaa'];
    buildDirectory({ total: 0, byNamespace: {} }, NOW, registered);
    expect(registered).toEqual(['zzz', 'aaa']);
  });
});
