import { describe, expect, it } from 'vitest';
import { DELETED_PROPERTY, entityAtTime, type Properties, type StoredEvent } from '@flux/domain';

const T = 1_765_000_000_000;

/** History entries oldest first: each [storedAt offset from T, properties, version after]. */
function history(...entries: [number, Properties, number | undefined, boolean?][]): StoredEvent[] {
  return entries.map(([at, properties, version, rejected], offset) => ({
    event: { eventId: `e${offset}`, stream: 's', source: 'test', timestamp: T + at, payload: { entity_id: 'x', properties } },
    storedAt: T + at,
    offset,
    ...(version === undefined ? {} : { version }),
    ...(rejected === true ? { rejected: { code: 'version_conflict' as const, currentVersion: 1 } } : {}),
  }));
}

describe('entity at a point in time', () => {
  const events = history([0, { a: 1 }, 1], [10, { b: 2 }, 2], [20, { a: null }, 3], [30, { [DELETED_PROPERTY]: true }, 0], [40, { c: 3 }, 1]);

  it('replays the events stored at or before the time', () => {
    expect(entityAtTime(events, T + 15, true, 2)).toEqual({
      kind: 'found',
      entity: { properties: { a: 1, b: 2 }, version: 2, lastUpdated: T + 10, position: { partition: 2, offset: 1 } },
    });
    expect(entityAtTime(events, T + 20, true, 2)).toMatchObject({ kind: 'found', entity: { properties: { b: 2 }, version: 3 } });
  });

  it('is absent before the first event and after a tombstone, and starts afresh after it', () => {
    expect(entityAtTime(events, T - 1, true, 0)).toEqual({ kind: 'absent' });
    expect(entityAtTime(events, T + 35, true, 0)).toEqual({ kind: 'absent' });
    expect(entityAtTime(events, T + 45, true, 0)).toMatchObject({ kind: 'found', entity: { properties: { c: 3 }, version: 1 } });
  });

  it('skips events recorded without effect', () => {
    const withRejected = history([0, { a: 1 }, 1], [5, { a: 99 }, undefined, true]);
    expect(entityAtTime(withRejected, T + 10, true, 0)).toMatchObject({ kind: 'found', entity: { properties: { a: 1 }, version: 1 } });
  });

  it('is outside the window when a trimmed history holds no fresh start before the time', () => {
    // The creation (version 1) was trimmed: only later updates remain.
    const trimmed = history([0, { a: 1 }, 7], [10, { b: 2 }, 8], [20, { [DELETED_PROPERTY]: true }, 0], [30, { c: 1 }, 1]);
    expect(entityAtTime(trimmed, T + 15, false, 0)).toEqual({ kind: 'outside_window' });
    expect(entityAtTime(trimmed, T - 1, false, 0)).toEqual({ kind: 'outside_window' });
    expect(entityAtTime(trimmed, T + 25, false, 0)).toEqual({ kind: 'absent' });
    expect(entityAtTime(trimmed, T + 35, false, 0)).toMatchObject({ kind: 'found', entity: { properties: { c: 1 } } });
  });

  it('keeps the ttl the events gave', () => {
    const ttl = history([0, { a: 1 }, 1]);
    ttl[0] = { ...ttl[0]!, event: { ...ttl[0]!.event, ttl_seconds: 5 } };
    expect(entityAtTime(ttl, T, true, 0)).toMatchObject({ kind: 'found', entity: { ttl: { seconds: 5, expiresAt: T + 5000 } } });
  });
});
