/**
 * Conditional writes through the real pipeline (ingest, LMDB log, reducers, LMDB state): the
 * reducer decides each condition at apply time from the entity as the log has it, a failed
 * one changes nothing and is recorded in the history, the publisher hears the decision, and a
 * replay of the same log, from scratch or after a crash, decides the same.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, parseEnvelope, type StoredEvent } from '@flux/domain';
import { deferred, within } from '@flux/core/testing';
import { crashingAtCommit, envelope, OPEN, rejection, usePipelines, type Pipeline } from './support.js';

const { dir, open, close } = usePipelines();

/** An entity's history as the decisions it records: version applied, or the version a rejection found. */
const decisions = (history: readonly StoredEvent[]): string[] =>
  [...history].reverse().map((stored) => (stored.rejected === undefined ? `v${stored.version}` : `rejected@${stored.rejected.currentVersion}`));

describe('conditional writes', () => {
  it('apply when the condition holds, and otherwise change nothing, record the rejection and tell the publisher', async () => {
    const flux = await open();
    await flux.startReducers();
    const claim = await flux.ingest.publish(envelope('ns/task', { owner: 'a' }, { if_absent: true }), OPEN);
    expect(claim).toMatchObject({ version: 1 });

    const lost = await rejection(flux.ingest.publish(envelope('ns/task', { owner: 'b' }, { if_version: 0 }), OPEN));
    expect(lost.code).toBe(ErrorCode.VersionConflict);
    expect(lost.details).toMatchObject({ current_version: 1, position: expect.any(String), eventId: expect.any(String) });
    const absent = await rejection(flux.ingest.publish(envelope('ns/task', { owner: 'c' }, { if_absent: true }), OPEN));
    expect(absent.details).toMatchObject({ current_version: 1 });

    await expect(flux.ingest.publish(envelope('ns/task', { done: true }, { if_version: 1 }), OPEN)).resolves.toMatchObject({ version: 2 });
    const entity = await flux.embedded.state.getEntity('ns/task');
    expect(entity).toMatchObject({ version: 2, properties: { owner: 'a', done: true } });

    const history = await flux.embedded.state.history('ns/task', { sinceMs: 0, limit: 10 });
    expect(decisions(history)).toEqual(['v1', 'rejected@1', 'rejected@1', 'v2']);
    expect(history[1]?.event).toMatchObject({ if_absent: true, payload: { properties: { owner: 'c' } } });
    // Rejections are not applied events.
    expect(await flux.embedded.state.eventsApplied()).toBe(2);
  });

  it('a conditional delete deletes only at the version it names', async () => {
    const flux = await open();
    await flux.startReducers();
    await flux.ingest.publish(envelope('ns/doc', { v: 1 }), OPEN, undefined, { applied: true });
    await flux.ingest.publish(envelope('ns/doc', { v: 2 }), OPEN, undefined, { applied: true });
    expect((await rejection(flux.ingest.publish(envelope('ns/doc', { __deleted__: true }, { if_version: 1 }), OPEN))).code).toBe(
      ErrorCode.VersionConflict,
    );
    expect(await flux.embedded.state.getEntity('ns/doc')).toMatchObject({ version: 2 });
    await expect(flux.ingest.publish(envelope('ns/doc', { __deleted__: true }, { if_version: 2 }), OPEN)).resolves.toMatchObject({ version: 0 });
    expect(await flux.embedded.state.getEntity('ns/doc')).toBeUndefined();
    // Deleted is absent: the next claim with if_version 0 wins.
    await expect(flux.ingest.publish(envelope('ns/doc', { v: 3 }, { if_version: 0 }), OPEN)).resolves.toMatchObject({ version: 1 });
  });

  it('decides each element of a batch on its own, in order, and reports each', async () => {
    const flux = await open();
    await flux.startReducers();
    const results = await flux.ingest.publishBatch(
      [
        envelope('ns/slot', { by: 1 }, { if_version: 0 }),
        envelope('ns/slot', { by: 2 }, { if_version: 0 }),
        envelope('ns/slot', { by: 3 }, { if_version: 1 }),
        envelope('ns/other', { plain: true }),
        { not: 'an event' },
      ],
      OPEN,
    );
    expect(results[0]).toMatchObject({ version: 1 });
    expect(results[1]).toMatchObject({
      code: ErrorCode.VersionConflict,
      current_version: 1,
      position: expect.any(String),
      error: expect.any(String),
    });
    expect(results[2]).toMatchObject({ version: 2 });
    // A batch with a condition waits for all of it: the plain element has its version too.
    expect(results[3]).toMatchObject({ version: 1 });
    expect(results[4]).toEqual({ error: expect.any(String) });
    expect(await flux.embedded.state.getEntity('ns/slot')).toMatchObject({ version: 2, properties: { by: 3 } });
  });

  it('a replay of the log, from scratch or after a crash mid-way, decides every condition the same', async () => {
    // Racers for a few slots, in one log: every racer expects version 0, then each winner's
    // successor expects the version it saw.
    let flux = await open({ maxBatch: 3 });
    const events = [];
    for (let round = 0; round < 6; round++) {
      for (let slot = 0; slot < 4; slot++) {
        events.push(envelope(`ns/slot-${slot}`, { round, racer: 'x' }, { if_version: round === 0 ? 0 : round }));
        events.push(envelope(`ns/slot-${slot}`, { round, racer: 'y' }, { if_version: round }));
      }
    }
    // Appended before any reducer runs: the decisions are the recovery's.
    await flux.ingest.appendEvents(events.map((input) => parseEnvelope(input)));
    await flux.startReducers();
    const reference = await snapshot(flux);
    for (let slot = 0; slot < 4; slot++) {
      // In each round x wins (it expects the version the last winner left) and y loses to it.
      expect(reference.get(`ns/slot-${slot}`)?.decisions).toEqual([0, 1, 2, 3, 4, 5].flatMap((round) => [`v${round + 1}`, `rejected@${round + 1}`]));
    }
    await close(flux);

    // From scratch: the state store goes, the log stays.
    await rm(join(dir().path, 'state'), { recursive: true, force: true });
    flux = await open({ maxBatch: 3 });
    await flux.startReducers();
    expect(await snapshot(flux)).toEqual(reference);
    await close(flux);

    // A crash after some commits: the restart replays the rest and decides it the same.
    await rm(join(dir().path, 'state'), { recursive: true, force: true });
    const crashed = deferred();
    flux = await open({ maxBatch: 3, wrapStore: crashingAtCommit(4, () => crashed.resolve()) });
    void flux.reducers.start();
    await within(crashed.promise, 'the injected crash');
    await flux.reducers.stop();
    await close(flux);
    flux = await open({ maxBatch: 3 });
    await flux.startReducers();
    expect(await snapshot(flux)).toEqual(reference);
  });
});

/** Every entity's version, properties and recorded decisions. */
async function snapshot(flux: Pipeline): Promise<Map<string, { version: number; properties: unknown; decisions: string[] }>> {
  const page = await flux.embedded.state.listEntities({ prefix: 'ns/', limit: 1000 });
  const result = new Map<string, { version: number; properties: unknown; decisions: string[] }>();
  for (const { id, entity } of page.entities) {
    const history = await flux.embedded.state.history(id, { sinceMs: 0, limit: 500 });
    result.set(id, { version: entity.version, properties: entity.properties, decisions: decisions(history) });
  }
  return result;
}
