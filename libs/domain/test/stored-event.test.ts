import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeEvent, encodeStoredEvent, historyView, type FluxEvent, type StoredEvent } from '@flux/domain';

const event: FluxEvent = { eventId: 'e1', stream: 's', source: 'src', timestamp: 1, payload: { entity_id: 'ns/a', properties: { a: 1 } } };

const stored: fc.Arbitrary<StoredEvent> = fc.record(
  {
    event: fc.constant(event),
    storedAt: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    offset: fc.integer({ min: 0, max: 2 ** 50 }),
    version: fc.integer({ min: 0, max: 2 ** 40 }),
    rejected: fc.record({ code: fc.constant('version_conflict' as const), currentVersion: fc.integer({ min: 0, max: 2 ** 40 }) }),
  },
  { requiredKeys: ['event', 'storedAt'] },
);

describe('stored events', () => {
  it('encode as JSON.stringify would, splicing the log value of the event', () => {
    fc.assert(
      fc.property(stored, (entry) => {
        expect(encodeStoredEvent(entry, encodeEvent(entry.event))).toBe(JSON.stringify(entry));
        expect(JSON.parse(encodeStoredEvent(entry))).toEqual(entry);
      }),
    );
  });

  it('show in the history as the envelope, with `rejected` when the event changed nothing', () => {
    expect(historyView({ event, storedAt: 2, offset: 3, version: 1 })).toBe(event);
    expect(historyView({ event, storedAt: 2, offset: 4, rejected: { code: 'version_conflict', currentVersion: 5 } })).toEqual({
      ...event,
      rejected: { code: 'version_conflict', current_version: 5 },
    });
  });
});
