import { describe, expect, it } from 'vitest';
import { evaluateTargets, type TargetInputs } from '../src/targets.js';
import { alternating, batch, disk, embeddedScenarios, loopDelays, openLoop, websocket, websocketRate } from './fixtures.js';

const byId = (outcomes: ReturnType<typeof evaluateTargets>, id: string) => {
  const outcome = outcomes.find((entry) => entry.id === id);
  if (outcome === undefined) throw new Error(`no target ${id}`);
  return outcome;
};

const embedded = (overrides: Partial<TargetInputs> = {}): TargetInputs => ({
  scenarios: embeddedScenarios(),
  serverEventLoopDelayMaxMs: loopDelays(5),
  ...overrides,
});

describe('evaluateTargets', () => {
  it('evaluates issue 11’s embedded targets, each met when the figures beat it', () => {
    const outcomes = evaluateTargets('embedded', embedded());
    expect(outcomes.map((outcome) => [outcome.id, outcome.measured, outcome.met])).toEqual([
      ['single-event-ingest', 0.65, true],
      ['get-ratio', 0.9, true],
      ['batch-ingest', 350_000, true],
      ['batch-ingest-moonshot', 350_000, true],
      // The fixture's data is on disk: the tmpfs target waits for a run on tmpfs.
      ['websocket-p99-tmpfs', null, null],
      ['websocket-p99-disk', 20, true],
      ['cpu-at-1k', 0.25, true],
      ['event-loop-delay', 5, true],
      ['memory-1m', 0.9e9, true],
      ['memory-idle', 70e6, true],
    ]);
    expect(byId(outcomes, 'websocket-p99-tmpfs').note).toContain('this run’s data was on ext4 /dev/vda at /');
    expect(byId(outcomes, 'websocket-p99-disk').note).toBe('on ext4 /dev/vda at /');
  });

  it('reports a figure on the wrong side of its threshold as not met; "below" is exclusive, "at most" inclusive', () => {
    const scenarios = embeddedScenarios({
      ingest: { ...alternating(20_000, 11_000), fixedRate: [openLoop(1000, 1, 3, 0.31)] },
      reads: { ...embeddedScenarios().reads!, get: alternating(30_000, 23_000) },
      batch: [batch(1000, 149_999)],
      websocket: websocket([websocketRate(5000, 2, 25)]),
      memory: { ...embeddedScenarios().memory!, rssBytes: 1e9, idleRssBytes: 80e6 },
    });
    const outcomes = evaluateTargets('embedded', embedded({ scenarios, serverEventLoopDelayMaxMs: { ...loopDelays(5), websocket: 20 } }));
    for (const id of [
      'single-event-ingest',
      'get-ratio',
      'batch-ingest',
      'batch-ingest-moonshot',
      'websocket-p99-disk',
      'cpu-at-1k',
      'event-loop-delay',
      'memory-1m',
      'memory-idle',
    ])
      expect([id, byId(outcomes, id).met]).toEqual([id, false]);
    const atBound = evaluateTargets(
      'embedded',
      embedded({ scenarios: embeddedScenarios({ ingest: { ...alternating(20_000, 12_000), fixedRate: [openLoop(1000, 1, 3, 0.3)] } }) }),
    );
    expect(byId(atBound, 'cpu-at-1k').met).toBe(true);
    expect(byId(atBound, 'single-event-ingest').met).toBe(true);
  });

  it('judges the WebSocket p99 against the target of the filesystem the data was on', () => {
    const onTmpfs = evaluateTargets(
      'embedded',
      embedded({ scenarios: embeddedScenarios({ websocket: websocket([websocketRate(5000, 2, 9)], disk('tmpfs')) }) }),
    );
    expect(byId(onTmpfs, 'websocket-p99-tmpfs')).toMatchObject({ measured: 9, met: true, note: 'on tmpfs tmpfs at /dev/shm' });
    expect(byId(onTmpfs, 'websocket-p99-disk')).toMatchObject({ measured: null, met: null });
    expect(byId(onTmpfs, 'websocket-p99-disk').note).toContain('this run’s data was on tmpfs');
    const unknown = evaluateTargets(
      'embedded',
      embedded({ scenarios: embeddedScenarios({ websocket: websocket([websocketRate(5000, 2, 9)], null) }) }),
    );
    expect(byId(unknown, 'websocket-p99-disk')).toMatchObject({ met: null, note: 'the data directory’s filesystem is unknown' });
  });

  it('does not count a latency target as met when events were lost', () => {
    const outcomes = evaluateTargets(
      'embedded',
      embedded({ scenarios: embeddedScenarios({ websocket: websocket([websocketRate(5000, 1, 2, 3)]) }) }),
    );
    const delivery = byId(outcomes, 'websocket-p99-disk');
    expect(delivery.met).toBe(false);
    expect(delivery.measured).toBe(2);
    expect(delivery.note).toContain('3 of 5000 events never arrived');
  });

  it('does not count the CPU target as met when the server did not keep up with 1k/s', () => {
    const slow = { ...openLoop(1000, 1, 3, 0.2), achievedRate: 900 };
    const outcomes = evaluateTargets(
      'embedded',
      embedded({ scenarios: embeddedScenarios({ ingest: { ...alternating(20_000, 13_000), fixedRate: [slow] } }) }),
    );
    expect(byId(outcomes, 'cpu-at-1k')).toMatchObject({ measured: 0.2, met: false, note: 'the server kept up with 900/s only' });
  });

  it('judges the event-loop delay only over every scenario, unless a measured one already misses', () => {
    const some = evaluateTargets('embedded', embedded({ serverEventLoopDelayMaxMs: { ingest: 4, batch: 12, reads: null } }));
    expect(byId(some, 'event-loop-delay')).toMatchObject({ measured: 12, met: null });
    expect(byId(some, 'event-loop-delay').note).toBe(
      'worst under batch; reads, websocket, wait-applied, large-entity, filtered-list, memory not measured',
    );
    const missed = evaluateTargets('embedded', embedded({ serverEventLoopDelayMaxMs: { ingest: 4, batch: 31 } }));
    expect(byId(missed, 'event-loop-delay')).toMatchObject({ measured: 31, met: false });
    expect(byId(evaluateTargets('embedded', embedded({ serverEventLoopDelayMaxMs: {} })), 'event-loop-delay')).toMatchObject({
      met: null,
      note: 'not measured',
    });
  });

  it('leaves targets unevaluated when their scenario did not run or ran too small', () => {
    const base = embeddedScenarios();
    const outcomes = evaluateTargets(
      'embedded',
      embedded({ scenarios: { ...base, reads: undefined, memory: { ...base.memory!, entities: 100_000 } } }),
    );
    expect(byId(outcomes, 'get-ratio')).toMatchObject({ met: null, measured: null, note: 'reads not run' });
    const memory = byId(outcomes, 'memory-1m');
    expect(memory.met).toBeNull();
    expect(memory.measured).toBe(0.9e9);
    expect(memory.note).toContain('100000 entities');
    // Idle memory does not depend on how much is loaded afterwards.
    expect(byId(outcomes, 'memory-idle').met).toBe(true);
  });

  it('has the cluster its own targets, CPU counted over every process', () => {
    const scenarios = {
      ingest: { ...alternating(20_000, 5_200), fixedRate: [] },
      reads: { ...embeddedScenarios().reads!, get: alternating(30_000, 9_000) },
      // 2.4 + 0.4 CPU-s over 20,000 events: 14 CPU-s per 100k.
      batch: [batch(100, 10_000), batch(1000, 60_000, 2.4, 0.4)],
      websocket: websocket([websocketRate(1000, 5, 20), websocketRate(2000, 10, 49), websocketRate(5000, 50, 500)]),
    };
    const outcomes = evaluateTargets('cluster', { scenarios });
    expect(outcomes.map((outcome) => [outcome.id, outcome.measured, outcome.met])).toEqual([
      ['batch-ingest', 60_000, true],
      ['single-event-ingest', 5_200, true],
      ['get-throughput', 9_000, false],
      ['websocket-p99', 49, true],
      ['cpu-per-100k-batched', 14, false],
    ]);
  });

  it('counts the cluster CPU of Flux’s processes alone as a bound: it can miss, never meet', () => {
    const cpu = (serverCpuSeconds: number) =>
      byId(evaluateTargets('cluster', { scenarios: { batch: [batch(1000, 60_000, serverCpuSeconds, null)] } }), 'cpu-per-100k-batched');
    expect(cpu(0.5)).toMatchObject({ measured: 2.5, met: null });
    expect(cpu(0.5).note).toContain('Kafka and Redis are not visible');
    expect(cpu(0.8)).toMatchObject({ measured: 4, met: false });
  });
});
