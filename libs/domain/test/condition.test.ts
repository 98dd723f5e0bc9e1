import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEvent, decideCondition, isConditional, type FluxEvent, type StoredEntity } from '@flux/domain';

const event = (extra: Partial<FluxEvent> = {}, properties: Record<string, unknown> = { claimed: true }): FluxEvent => ({
  eventId: 'e',
  stream: 's',
  source: 'agent',
  timestamp: 1,
  payload: { entity_id: 'ns/task', properties },
  ...extra,
});

const at = (version: number): StoredEntity => ({ properties: { a: 1 }, version, lastUpdated: 1 });

describe('decideCondition', () => {
  it('holds for an event without a condition, whatever the entity', () => {
    expect(isConditional(event())).toBe(false);
    expect(decideCondition(event(), undefined)).toEqual({ holds: true });
    expect(decideCondition(event(), at(9))).toEqual({ holds: true });
  });

  it('if_version: n holds exactly when the entity is at version n; 0 means it must not exist', () => {
    expect(isConditional(event({ if_version: 0 }))).toBe(true);
    expect(decideCondition(event({ if_version: 0 }), undefined)).toEqual({ holds: true });
    expect(decideCondition(event({ if_version: 0 }), at(1))).toEqual({ holds: false, currentVersion: 1 });
    expect(decideCondition(event({ if_version: 3 }), at(3))).toEqual({ holds: true });
    expect(decideCondition(event({ if_version: 3 }), at(4))).toEqual({ holds: false, currentVersion: 4 });
    expect(decideCondition(event({ if_version: 3 }), undefined)).toEqual({ holds: false, currentVersion: 0 });
  });

  it('if_absent holds only while the entity does not exist (a deleted one counts as absent)', () => {
    expect(isConditional(event({ if_absent: true }))).toBe(true);
    expect(decideCondition(event({ if_absent: true }), undefined)).toEqual({ holds: true });
    expect(decideCondition(event({ if_absent: true }), at(1))).toEqual({ holds: false, currentVersion: 1 });
  });

  it('among racers that all read the same version, exactly the first in log order wins', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 30 }), (start, racers) => {
        let entity: StoredEntity | undefined = start === 0 ? undefined : at(start);
        const winners: number[] = [];
        for (let racer = 0; racer < racers; racer++) {
          const claim = event({ if_version: start }, { owner: racer });
          if (!decideCondition(claim, entity).holds) continue;
          winners.push(racer);
          const applied = applyEvent(entity, claim, 2);
          entity = applied.kind === 'upsert' ? applied.entity : undefined;
        }
        expect(winners).toEqual([0]);
        expect(entity?.properties.owner).toBe(0);
        expect(entity?.version).toBe(start + 1);
      }),
    );
  });
});
