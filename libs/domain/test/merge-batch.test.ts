import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEvent, MergeBatch, type AppliedEvent, type FluxEvent, type PropertyChange, type Properties, type StoredEntity } from '@flux/domain';

const event = (properties: Properties, entityId = 'g/e'): FluxEvent => ({
  eventId: 'evt',
  stream: 'sensors',
  source: 'test',
  timestamp: 1,
  payload: { entity_id: entityId, properties },
});

interface Outcome {
  readonly state: Map<string, StoredEntity | undefined>;
  readonly changes: { id: string; kind: AppliedEvent['kind']; version?: number; changes?: readonly PropertyChange[] }[];
}

/** Applies a log the way the reducer does: one MergeBatch per batch, the batch's result kept per id. */
function applyInBatches(log: readonly FluxEvent[], cuts: readonly number[]): Outcome {
  const state = new Map<string, StoredEntity | undefined>();
  const changes: Outcome['changes'] = [];
  const bounds = [...new Set([0, ...cuts.filter((cut) => cut > 0 && cut < log.length), log.length])].sort((a, b) => a - b);
  for (let b = 0; b + 1 < bounds.length; b++) {
    const merge = new MergeBatch();
    for (const e of log.slice(bounds[b], bounds[b + 1])) {
      const id = e.payload.entity_id;
      const result = merge.apply(state.get(id), e, e.timestamp);
      if (result.kind === 'upsert') {
        state.set(id, result.entity);
        changes.push({ id, kind: 'upsert', version: result.entity.version, changes: result.changes });
      } else {
        state.set(id, undefined);
        changes.push({ id, kind: 'delete' });
      }
    }
    // What a store would keep after the commit: a snapshot that later batches must not change.
    for (const [id, entity] of state) if (entity !== undefined) state.set(id, structuredClone(entity));
  }
  return { state, changes };
}

const snapshot = (outcome: Outcome) => ({
  state: [...outcome.state].map(([id, entity]) => [id, entity === undefined ? null : JSON.stringify(entity)]),
  changes: JSON.stringify(outcome.changes),
});

const propertyName = fc.constantFrom('a', 'b', 'c', '__proto__', 'constructor', '__deleted__');
const propertyValue = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.string({ maxLength: 4 }),
  fc.constant(true),
  fc.dictionary(fc.string({ maxLength: 2 }), fc.integer(), { maxKeys: 2 }),
);
const logEvent = fc
  .record({
    id: fc.constantFrom('g/x', 'g/y'),
    properties: fc.dictionary(propertyName, propertyValue, { maxKeys: 4 }),
    at: fc.integer({ min: 1, max: 1e6 }),
  })
  .map(({ id, properties, at }) => ({ ...event(JSON.parse(JSON.stringify(properties)) as Properties, id), timestamp: at }));
const log = fc.array(logEvent, { maxLength: 30 });

describe('MergeBatch', () => {
  it('never mutates the entity it was handed (a store may cache it)', () => {
    const cached: StoredEntity = Object.freeze({ properties: Object.freeze({ a: 1, b: 2 }), version: 3, lastUpdated: 1 });
    const merge = new MergeBatch();
    let current: StoredEntity | undefined = cached;
    for (let i = 0; i < 5; i++) {
      const result = merge.apply(current, event({ tick: i, a: null }), 10 + i);
      current = result.kind === 'upsert' ? result.entity : undefined;
    }
    expect(cached.properties).toEqual({ a: 1, b: 2 });
    expect(current).toEqual({ properties: { b: 2, tick: 4 }, version: 8, lastUpdated: 14 });
  });

  it('copies an entity once per batch and merges the rest of the batch in place', () => {
    const merge = new MergeBatch();
    const first = merge.apply({ properties: { a: 1 }, version: 1, lastUpdated: 1 }, event({ b: 2 }), 2);
    const second = merge.apply(first.kind === 'upsert' ? first.entity : undefined, event({ c: 3 }), 3);
    if (first.kind !== 'upsert' || second.kind !== 'upsert') throw new Error('expected upserts');
    expect(second.entity.properties).toBe(first.entity.properties);
    expect(second.entity).toEqual({ properties: { a: 1, b: 2, c: 3 }, version: 3, lastUpdated: 3 });
  });

  it('starts a fresh entity after a delete within the batch', () => {
    const merge = new MergeBatch();
    let current: StoredEntity | undefined = { properties: { a: 1 }, version: 4, lastUpdated: 1 };
    for (const properties of [{ b: 2 }, { __deleted__: true }, { c: 3 }]) {
      const result = merge.apply(current, event(properties), 5);
      current = result.kind === 'upsert' ? result.entity : undefined;
    }
    expect(current).toEqual({ properties: { c: 3 }, version: 1, lastUpdated: 5 });
  });

  it('keeps "__proto__" as plain data when merging in place', () => {
    const merge = new MergeBatch();
    const first = merge.apply(undefined, event(JSON.parse('{"__proto__": {"polluted": true}}') as Properties), 1);
    const second = merge.apply(first.kind === 'upsert' ? first.entity : undefined, event({ a: 1 }), 2);
    if (second.kind !== 'upsert') throw new Error('expected an upsert');
    expect(Object.keys(second.entity.properties)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(second.entity.properties)).toBe(Object.prototype);
  });
});

describe('merge properties', () => {
  it('replaying any log yields the same state', () => {
    fc.assert(
      fc.property(log, (events) => {
        expect(snapshot(applyInBatches(events, []))).toEqual(snapshot(applyInBatches(events, [])));
      }),
      { numRuns: 100 },
    );
  });

  it('a log split into batches at any points gives the state and changes of applying it event by event', () => {
    fc.assert(
      fc.property(log, fc.array(fc.nat({ max: 30 }), { maxLength: 6 }), (events, cuts) => {
        const oneByOne = applyInBatches(
          events,
          events.map((_, i) => i),
        );
        expect(snapshot(applyInBatches(events, cuts))).toEqual(snapshot(oneByOne));
        // applyEvent, the copying form, agrees too.
        let current: StoredEntity | undefined;
        const state = new Map<string, StoredEntity | undefined>();
        for (const e of events) {
          current = state.get(e.payload.entity_id);
          const result = applyEvent(current, e, e.timestamp);
          state.set(e.payload.entity_id, result.kind === 'upsert' ? result.entity : undefined);
        }
        expect(snapshot({ state, changes: oneByOne.changes })).toEqual(snapshot(oneByOne));
      }),
      { numRuns: 150 },
    );
  });
});
