/**
 * Invariant 2, exactly-once materialisation: state and the applied offset move together, a
 * restarted reducer resumes from the stored offset, and no stop, failed commit or SIGKILL
 * loses an event or applies one twice (`version` and the applied-events counter prove it).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ChangeRecord, FluxEvent, LogPosition } from '@flux/domain';
import { Collector, deferred, runUntilKilled, within } from '@flux/core/testing';
import { Model } from './model.js';
import { crashingAtCommit, OPEN, usePipelines, type Pipeline } from './support.js';

const { dir, open, close } = usePipelines();

/** Every entity has exactly the model's version, properties and history; nothing was applied twice. */
async function expectMatchesModel(flux: Pipeline, model: Model): Promise<void> {
  const { state } = flux.embedded;
  for (const [id, count] of model.counts) {
    const entity = await state.getEntity(id);
    expect(entity?.version, `version of ${id}`).toBe(count);
    expect(entity?.properties, `properties of ${id}`).toEqual(model.properties.get(id));
    expect(await state.history(id, { sinceMs: 0, limit: 500 }), `history of ${id}`).toHaveLength(count);
  }
  expect(await state.eventsApplied()).toBe(model.total);
  expect((await state.counts()).total).toBe(model.counts.size);
}

/** The stored applied offset of every partition (read through a claim, as a restarting reducer would). */
async function appliedOffsets(flux: Pipeline): Promise<number[]> {
  const { log, state } = flux.embedded;
  return Promise.all(Array.from({ length: log.partitionCount }, async (_, p) => (await state.claimPartition(p)).appliedOffset));
}

/** State after a partial run: each entity reflects exactly its events at or below its partition's applied offset. */
async function expectConsistentPrefix(flux: Pipeline, events: readonly FluxEvent[], positions: readonly LogPosition[]): Promise<number> {
  const applied = await appliedOffsets(flux);
  const expected = new Map<string, number>();
  positions.forEach((position, index) => {
    const id = events[index]!.payload.entity_id;
    if (position.offset <= applied[position.partition]!) expected.set(id, (expected.get(id) ?? 0) + 1);
    else expected.set(id, expected.get(id) ?? 0);
  });
  for (const [id, version] of expected) {
    expect((await flux.embedded.state.getEntity(id))?.version ?? 0, `version of ${id} at offsets ${JSON.stringify(applied)}`).toBe(version);
  }
  const appliedCount = applied.reduce((sum, offset) => sum + offset + 1, 0);
  expect(await flux.embedded.state.eventsApplied()).toBe(appliedCount);
  return appliedCount;
}

describe('exactly-once materialisation', () => {
  it('applies every event once across restarts and resumes from the stored offsets', async () => {
    const model = new Model();
    let flux = await open({ maxBatch: 16 });

    // Round 0 is in the log before any reducer runs: the recovery path.
    const round0 = model.events(0, 300);
    for (let i = 0; i < round0.length; i += 100) {
      const results = await flux.ingest.publishBatch(round0.slice(i, i + 100), OPEN);
      expect(results.every((result) => !('error' in result))).toBe(true);
    }
    await flux.startReducers();
    await expectMatchesModel(flux, model);
    const endsAfterRound0 = await flux.endOffsets();

    // Round 1 arrives while Flux is down; the restarted reducers must apply exactly it.
    await close(flux);
    flux = await open({ maxBatch: 16 });
    const changes = new Collector<ChangeRecord>();
    flux.embedded.feed.subscribe((batch) => changes.push(...batch));
    const round1 = model.events(1, 150);
    await flux.ingest.appendEvents(round1);
    await flux.startReducers();
    await expectMatchesModel(flux, model);
    expect(changes.items).toHaveLength(round1.length);
    for (const change of changes.items) {
      expect(change.source).toBe('round-1');
      expect(change.offset).toBeGreaterThanOrEqual(endsAfterRound0[change.partition]!);
    }

    // Round 2 arrives while the reducers tail the log.
    await flux.ingest.appendEvents(model.events(2, 150));
    await flux.settle();
    await expectMatchesModel(flux, model);
    expect(changes.items).toHaveLength(300);

    // A restart with nothing new applies nothing and publishes nothing.
    await close(flux);
    flux = await open({ maxBatch: 16 });
    const replayed = new Collector<ChangeRecord>();
    flux.embedded.feed.subscribe((batch) => replayed.push(...batch));
    await flux.startReducers();
    await expectMatchesModel(flux, model);
    expect(replayed.items).toEqual([]);

    // History is newest first and ends with the last event of each entity.
    const last = model.events(3, 1)[0]!;
    const [position] = await flux.ingest.appendEvents([last]);
    await flux.reducers.waitFor([position!]);
    const history = await flux.embedded.state.history(last.payload.entity_id, { sinceMs: 0, limit: 1 });
    expect(history.map((stored) => stored.event.eventId)).toEqual([last.eventId]);
  });

  it('a reducer group stopped mid-stream leaves a consistent prefix, and the restart completes it', async () => {
    const model = new Model();
    let commits = 0;
    let stopping: Promise<void> | undefined;
    const stopRequested = deferred();
    let flux: Pipeline | undefined;
    flux = await open({
      maxBatch: 4,
      onCommitted: () => {
        if (++commits !== 12) return;
        stopping = flux!.reducers.stop();
        stopRequested.resolve();
      },
    });
    const events = model.events(0, 400);
    const positions = await flux.ingest.appendEvents(events);
    // start() would wait for a full catch-up, which the stop prevents.
    void flux.reducers.start();
    await within(stopRequested.promise, 'twelve commits');
    await stopping;

    const applied = await expectConsistentPrefix(flux, events, positions);
    expect(applied).toBeGreaterThan(0);
    expect(applied).toBeLessThan(events.length);

    await close(flux);
    flux = await open({ maxBatch: 4 });
    await flux.startReducers();
    await expectMatchesModel(flux, model);
  });

  it.each(['before', 'after'] as const)(
    'a commit that fails %s reaching the store is neither lost nor applied twice after a restart',
    async (when) => {
      const model = new Model();
      const crashed = deferred<{ partition: number; lastOffset: number }>();
      const crashing = crashingAtCommit(
        6,
        (claim, commit) => crashed.resolve({ partition: claim.partition, lastOffset: commit.lastOffset }),
        when === 'after',
      );
      let flux = await open({ maxBatch: 5, wrapStore: crashing });
      const events = model.events(0, 200);
      const positions = await flux.ingest.appendEvents(events);
      void flux.reducers.start();
      const crash = await within(crashed.promise, 'the injected crash');
      await flux.reducers.stop();

      const applied = await appliedOffsets(flux);
      if (when === 'after') expect(applied[crash.partition]).toBe(crash.lastOffset);
      else expect(applied[crash.partition]).toBeLessThan(crash.lastOffset);
      await expectConsistentPrefix(flux, events, positions);

      await close(flux);
      flux = await open({ maxBatch: 5 });
      await flux.startReducers();
      await expectMatchesModel(flux, model);
    },
  );

  it('a reducer process killed with SIGKILL mid-stream loses nothing and applies nothing twice', async () => {
    const model = new Model();
    let flux = await open({ partitionCount: 4 });
    const events = model.events(0, 600);
    const positions = await flux.ingest.appendEvents(events);
    await close(flux);

    const script = fileURLToPath(new URL('./fixtures/reduce-until-killed.ts', import.meta.url));
    const { signal, stderr, reported } = await runUntilKilled<{ partition: number; lastOffset: number }>(
      script,
      [dir().path, '25'],
      'the reducer process to kill itself',
    );
    expect(signal, stderr).toBe('SIGKILL');
    expect(reported.length).toBeGreaterThanOrEqual(25);

    flux = await open();
    // Every commit the child saw acknowledged is durable, and the state is exactly its prefix.
    const applied = await appliedOffsets(flux);
    for (const { partition, lastOffset } of reported) expect(applied[partition]).toBeGreaterThanOrEqual(lastOffset);
    const appliedCount = await expectConsistentPrefix(flux, events, positions);
    expect(appliedCount).toBeLessThan(events.length);

    await flux.startReducers();
    await expectMatchesModel(flux, model);
  });
});
