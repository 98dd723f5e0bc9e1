import { describe, expect, it } from 'vitest';
import type { ChaosOp, EntityEvidence, Outcome } from '../src/chaos/chaos-model.js';
import { faultTargets, planFaults } from '../src/chaos/fault-plan.js';
import { outcomeOfError, outcomeOfStatus } from '../src/chaos/http-outcome.js';
import { SeededRandom } from '../src/chaos/random.js';
import { reconcile, reconcileEntity } from '../src/chaos/reconcile.js';
import { SubscriberView } from '../src/chaos/subscriber-view.js';

const event = (seq: number, outcome: Outcome = 'acked'): ChaosOp => ({ kind: 'event', seq, eventId: `ev-${seq}`, outcome });
const del = (eventId: string | undefined, outcome: Outcome = 'acked'): ChaosOp => ({
  kind: 'delete',
  outcome,
  ...(eventId === undefined ? {} : { eventId }),
});
const evidence = (ops: ChaosOp[], final: EntityEvidence['final'], history: string[]): EntityEvidence => ({
  entityId: 'chaos/e1',
  ops,
  final,
  history,
});
const state = (seqs: number[], version = seqs.length): EntityEvidence['final'] => ({
  properties: Object.fromEntries(seqs.map((seq) => [`s${seq}`, `ev-${seq}`])),
  version,
});
const kinds = (e: EntityEvidence): string[] => reconcileEntity(e).map((finding) => finding.kind);

describe('reconcileEntity', () => {
  it('accepts a history where every acknowledged event is applied once', () => {
    expect(kinds(evidence([event(1), event(2), event(3)], state([1, 2, 3]), ['ev-3', 'ev-2', 'ev-1']))).toEqual([]);
  });

  it('counts an acknowledged event missing from the history or the state as lost', () => {
    expect(kinds(evidence([event(1), event(2)], state([1]), ['ev-1']))).toEqual(['lost', 'lost']);
    expect(kinds(evidence([event(1)], undefined, ['ev-1']))).toEqual(['lost']);
  });

  it('counts an event stored twice, or applied twice, as duplicated', () => {
    expect(kinds(evidence([event(1), event(2)], state([1, 2]), ['ev-2', 'ev-1', 'ev-1']))).toEqual(['duplicated']);
    expect(kinds(evidence([event(1), event(2)], state([1, 2], 3), ['ev-2', 'ev-1']))).toEqual(['duplicated']);
  });

  it('lets a request with an unknown outcome be applied once or not at all', () => {
    expect(kinds(evidence([event(1, 'unknown'), event(2)], state([2]), ['ev-2']))).toEqual([]);
    expect(kinds(evidence([event(1, 'unknown'), event(2)], state([1, 2]), ['ev-2', 'ev-1']))).toEqual([]);
    expect(kinds(evidence([event(1, 'unknown'), event(2)], state([1, 2]), ['ev-2', 'ev-1', 'ev-1']))).toEqual(['duplicated']);
  });

  it('flags a rejected event that was applied, a foreign property and a wrong value', () => {
    expect(kinds(evidence([event(1, 'rejected'), event(2)], state([1, 2]), ['ev-2', 'ev-1']))).toEqual(['wrong', 'wrong']);
    expect(kinds(evidence([event(1)], { properties: { s1: 'ev-1', other: 1 }, version: 1 }, ['ev-1']))).toEqual(['wrong']);
    expect(kinds(evidence([event(1)], { properties: { s1: 'ev-9' }, version: 1 }, ['ev-1']))).toEqual(['wrong']);
  });

  it('requires an acknowledged delete to remove what was written before it', () => {
    const ops = [event(1), event(2), del('t-1'), event(3)];
    expect(kinds(evidence(ops, state([3]), ['ev-3', 't-1', 'ev-2', 'ev-1']))).toEqual([]);
    expect(kinds(evidence(ops, state([1, 3]), ['ev-3', 't-1', 'ev-2', 'ev-1']))).toEqual(['wrong']);
    expect(kinds(evidence(ops, state([3]), ['ev-3', 'ev-2', 'ev-1']))).toEqual(['lost']);
  });

  it('lets an unknown delete explain missing events, and an unknown event outlive a later delete', () => {
    expect(kinds(evidence([event(1), del(undefined, 'unknown')], undefined, ['ev-1']))).toEqual([]);
    expect(kinds(evidence([event(1), del(undefined, 'unknown')], state([1]), ['ev-1']))).toEqual([]);
    expect(kinds(evidence([event(1, 'unknown'), del('t-1'), event(2)], state([1, 2]), ['ev-2', 'ev-1', 't-1']))).toEqual([]);
  });
});

describe('reconcile', () => {
  it('totals the outcomes and the findings of every entity', () => {
    const verdict = reconcile([
      evidence([event(1), event(2, 'unknown'), event(3, 'rejected')], state([1, 2]), ['ev-1', 'ev-2']),
      { ...evidence([event(1)], state([1], 2), ['ev-1']), entityId: 'chaos/e2' },
    ]);
    expect(verdict).toMatchObject({ acknowledged: 2, unknown: 1, unknownApplied: 1, rejected: 1, lost: 0, duplicated: 1, wrong: 0 });
    expect(verdict.findings).toEqual([{ entityId: 'chaos/e2', kind: 'duplicated', detail: 'version 2 but 1 events applied since (re)creation' }]);
  });
});

describe('SubscriberView', () => {
  const follows = (id: string): boolean => id.startsWith('chaos/');

  it('follows updates, removals and deletions, and reports what differs from the final state', () => {
    const view = new SubscriberView();
    view.apply({ type: 'state_update', entity_id: 'chaos/a', property: 's1', value: 'ev-1' }, follows);
    view.apply({ type: 'state_update', entity_id: 'chaos/a', property: 's2', value: 'ev-2' }, follows);
    view.apply({ type: 'state_update', entity_id: 'chaos/a', property: 's2', value: null }, follows);
    view.apply({ type: 'state_update', entity_id: 'other/x', property: 's1', value: 'ev-1' }, follows);
    view.apply({ type: 'state_update', entity_id: 'chaos/b', property: 's1', value: 'ev-1' }, follows);
    view.apply({ type: 'entity_deleted', entity_id: 'chaos/b' }, follows);
    view.apply({ type: 'metrics_update' }, follows);
    expect(view.has('chaos/a', 's1')).toBe(true);
    expect(view.has('other/x', 's1')).toBe(false);
    expect(
      view.divergences(
        new Map([
          ['chaos/a', { s1: 'ev-1' }],
          ['chaos/b', undefined],
        ]),
      ),
    ).toEqual([]);
    expect(
      view.divergences(
        new Map([
          ['chaos/a', { s1: 'ev-x', s3: 'ev-3' }],
          ['chaos/b', { s4: 'ev-4' }],
        ]),
      ),
    ).toEqual(['chaos/a: missing s3; different s1', 'chaos/b: missing s4']);
  });

  it('replaces an entity by a reread', () => {
    const view = new SubscriberView();
    view.apply({ type: 'state_update', entity_id: 'chaos/a', property: 's1', value: 'ev-1' }, follows);
    view.reset('chaos/a', { s2: 'ev-2' });
    expect(view.divergences(new Map([['chaos/a', { s2: 'ev-2' }]]))).toEqual([]);
  });
});

describe('request outcomes', () => {
  it('treats 2xx as acknowledged, 4xx as refused and 5xx or a cut connection as unknown', () => {
    expect([200, 400, 413, 408, 500, 503].map(outcomeOfStatus)).toEqual(['acked', 'rejected', 'rejected', 'unknown', 'unknown', 'unknown']);
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(outcomeOfError(new TypeError('fetch failed', { cause: refused }))).toBe('rejected');
    expect(outcomeOfError(new TypeError('fetch failed', { cause: new Error('other side closed') }))).toBe('unknown');
  });
});

describe('planFaults', () => {
  it('spreads one fault per slot over the middle of the run, the same for the same seed', () => {
    const targets = faultTargets(true, true);
    expect(targets.filter((target) => target === 'redis')).toHaveLength(1);
    expect(targets.filter((target) => target === 'kafka')).toHaveLength(1);
    expect(new Set(targets)).toEqual(new Set(['reducer', 'query-gateway', 'ingest-gateway', 'redis', 'kafka']));
    const plan = planFaults(targets, 100_000, new SeededRandom(7));
    expect(plan).toEqual(planFaults(targets, 100_000, new SeededRandom(7)));
    const times = plan.map((fault) => fault.atMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(10_000);
    expect(Math.max(...times)).toBeLessThanOrEqual(80_000);
  });
});
