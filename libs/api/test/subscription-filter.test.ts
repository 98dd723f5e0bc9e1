import { describe, expect, it } from 'vitest';
import type { ChangeRecord, StoredEntity } from '@flux/domain';
import { compileSubscriptionFilter, FILTER_TRACKED_ENTITIES_MAX, TrackingFilter } from '../src/websocket/subscription-filter.js';

const entity = (properties: Record<string, unknown>, version = 3): StoredEntity => ({ properties, version, lastUpdated: 0 });
const upsert = (entityId: string, version: number, set: Record<string, unknown>): ChangeRecord => ({
  kind: 'upsert',
  entityId,
  version,
  changes: Object.entries(set).map(([property, value]) => ({ property, value })),
  timestamp: 0,
  source: 'test',
  partition: 0,
  offset: version,
});
const removal = (entityId: string): ChangeRecord => ({ kind: 'delete', entityId, timestamp: 0, source: 'test', partition: 0, offset: 99 });

function compiled(expression: string): TrackingFilter {
  const filter = compileSubscriptionFilter(expression);
  if (!(filter instanceof TrackingFilter)) throw new Error(`not compiled: ${String(filter)}`);
  return filter;
}

describe('subscription filters', () => {
  it('judge a change on the whole entity: what the snapshot showed, updated by each change', () => {
    const filter = compiled('kind = "robot" and battery < 20');
    expect(filter.matchesEntity('a', entity({ kind: 'robot', battery: 50, name: 'x' }))).toBe(false);
    // Only battery changes, yet kind (from the snapshot) still counts.
    expect(filter.matchesChange(upsert('a', 4, { battery: 10 }))).toBe(true);
    // Leaving the result: delivered once, then no more.
    expect(filter.matchesChange(upsert('a', 5, { battery: 30 }))).toBe(true);
    expect(filter.matchesChange(upsert('a', 6, { battery: 40 }))).toBe(false);
    expect(filter.matchesChange(upsert('a', 7, { name: 'y' }))).toBe(false);
    // A removed property no longer matches.
    expect(filter.matchesChange(upsert('a', 8, { battery: 1 }))).toBe(true);
    expect(filter.matchesChange(upsert('a', 9, { kind: null }))).toBe(true);
    expect(filter.matchesChange(upsert('a', 10, { battery: 2 }))).toBe(false);
  });

  it('deliver a deletion only of an entity that matched, and take a created entity whole', () => {
    const filter = compiled('battery < 20');
    filter.matchesEntity('low', entity({ battery: 1 }));
    filter.matchesEntity('high', entity({ battery: 90 }));
    expect(filter.matchesChange(removal('low'))).toBe(true);
    expect(filter.matchesChange(removal('high'))).toBe(false);
    // Created again: version 1 holds all of it, nothing of before counts.
    expect(filter.matchesChange(upsert('high', 1, { other: true }))).toBe(false);
    expect(filter.matchesChange(upsert('new', 1, { battery: 3 }))).toBe(true);
  });

  it('deliver what they cannot judge (an entity never seen whole), so nothing is missed', () => {
    const filter = compiled('battery < 20');
    expect(filter.matchesChange(upsert('unknown', 7, { name: 'z' }))).toBe(true);
    expect(filter.matchesChange(removal('unknown'))).toBe(true);
  });

  it('keep at most FILTER_TRACKED_ENTITIES_MAX entities, then deliver the changes of the others', () => {
    const filter = compiled('battery < 20');
    for (let n = 0; n < FILTER_TRACKED_ENTITIES_MAX + 5; n += 1) filter.matchesEntity(`e${n}`, entity({ battery: 90 }));
    expect(filter.matchesChange(upsert('e0', 4, { name: 'tracked' }))).toBe(false);
    expect(filter.matchesChange(upsert(`e${FILTER_TRACKED_ENTITIES_MAX + 1}`, 4, { name: 'untracked' }))).toBe(true);
  });

  it('refuse filters that are not valid, naming the problem; no filter matches everything', () => {
    expect(compileSubscriptionFilter('battery <')).toMatch(/expected a value/);
    expect(compileSubscriptionFilter(42)).toMatch(/must be a string/);
    const all = compileSubscriptionFilter(undefined);
    expect(typeof all).toBe('object');
    expect(all instanceof TrackingFilter).toBe(false);
  });
});
