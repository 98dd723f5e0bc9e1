import { describe, expect, it } from 'vitest';
import { evaluateTargets } from '../src/targets.js';
import { batch, embeddedScenarios, websocketRate } from './fixtures.js';

const byId = (outcomes: ReturnType<typeof evaluateTargets>, id: string) => {
  const outcome = outcomes.find((entry) => entry.id === id);
  if (outcome === undefined) throw new Error(`no target ${id}`);
  return outcome;
};

describe('evaluateTargets', () => {
  it('evaluates every embedded target as met when the figures beat them', () => {
    const outcomes = evaluateTargets('embedded', embeddedScenarios());
    expect(outcomes.map((outcome) => outcome.id)).toEqual(['single-event-ingest', 'batch-ingest', 'websocket-p99', 'get-throughput', 'memory-1m']);
    expect(outcomes.every((outcome) => outcome.met === true)).toBe(true);
    expect(byId(outcomes, 'single-event-ingest').measured).toBe(0.6);
    expect(byId(outcomes, 'batch-ingest').measured).toBe(350_000);
    expect(byId(outcomes, 'websocket-p99').measured).toBe(9);
  });

  it('reports a figure on the wrong side of its threshold as not met, thresholds being exclusive for "below"', () => {
    const outcomes = evaluateTargets(
      'embedded',
      embeddedScenarios({
        batch: [batch(1000, 299_999)],
        websocket: { subscribers: 100, entitiesPerSubscriber: 10, rates: [websocketRate(5000, 2, 10)] },
      }),
    );
    expect(byId(outcomes, 'batch-ingest').met).toBe(false);
    expect(byId(outcomes, 'websocket-p99').met).toBe(false);
    expect(byId(outcomes, 'get-throughput').met).toBe(true);
  });

  it('does not count a latency target as met when events were lost', () => {
    const outcomes = evaluateTargets(
      'embedded',
      embeddedScenarios({ websocket: { subscribers: 100, entitiesPerSubscriber: 10, rates: [websocketRate(5000, 1, 2, 3)] } }),
    );
    const websocket = byId(outcomes, 'websocket-p99');
    expect(websocket.met).toBe(false);
    expect(websocket.measured).toBe(2);
    expect(websocket.note).toContain('3 of 5000 events never arrived');
  });

  it('leaves targets unevaluated when their scenario did not run or ran too small', () => {
    const base = embeddedScenarios();
    const outcomes = evaluateTargets('embedded', { ...base, reads: undefined, memory: { ...base.memory!, entities: 100_000 } });
    expect(byId(outcomes, 'get-throughput')).toMatchObject({ met: null, measured: null, note: 'reads not run' });
    const memory = byId(outcomes, 'memory-1m');
    expect(memory.met).toBeNull();
    expect(memory.measured).toBe(1.2e9);
    expect(memory.note).toContain('100000 entities');
  });

  it('has the cluster its own targets: batch at 50k/s and WebSocket p99 at 2000/s', () => {
    const outcomes = evaluateTargets('cluster', {
      batch: [batch(100, 10_000), batch(1000, 60_000)],
      websocket: {
        subscribers: 100,
        entitiesPerSubscriber: 10,
        rates: [websocketRate(1000, 5, 20), websocketRate(2000, 10, 60), websocketRate(5000, 50, 500)],
      },
    });
    expect(outcomes.map((outcome) => [outcome.id, outcome.measured, outcome.met])).toEqual([
      ['batch-ingest', 60_000, true],
      ['websocket-p99', 60, false],
    ]);
  });
});
