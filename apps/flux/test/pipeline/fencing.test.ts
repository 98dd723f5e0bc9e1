/**
 * Invariant 1, one writer per partition: a newer claim fences the older owner inside the atomic
 * write, so a stale reducer can never apply (or re-apply) anything once it was replaced.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, parseEnvelope, type ChangeRecord, type FluxError } from '@flux/domain';
import { PartitionReducer, type PartitionCommit, type PartitionStateWriter } from '@flux/core';
import { Collector, deferred, within, type Deferred } from '@flux/core/testing';
import { openEmbedded, type Embedded } from '@flux/embedded';
import { envelope, silentLogger, tempDir, type TempDir } from './support.js';

let dir: TempDir;
let embedded: Embedded;
const reducers: PartitionReducer[] = [];

beforeEach(async () => {
  dir = await tempDir();
  embedded = await openEmbedded({ dataDir: dir.path, partitionCount: 1 });
});

afterEach(async () => {
  for (const reducer of reducers.splice(0)) await reducer.stop();
  await embedded.close();
  await dir.remove();
});

/** A writer that records what each of its commits did, and can hold a commit at a gate. */
class RecordingWriter implements PartitionStateWriter {
  readonly committed: PartitionCommit[] = [];
  readonly rejected: unknown[] = [];
  /** When set, the next commit waits for it before reaching the store. */
  gate: Deferred<void> | undefined;
  /** Resolves when a commit is waiting at the gate. */
  readonly holding = deferred();

  constructor(private readonly store: PartitionStateWriter) {}

  claimPartition(partition: number) {
    return this.store.claimPartition(partition);
  }

  claimEpoch(partition: number) {
    return this.store.claimEpoch(partition);
  }

  loadEntities(partition: number, ids: readonly string[]) {
    return this.store.loadEntities(partition, ids);
  }

  expiredEntities(partition: number, nowMs: number, limit: number) {
    return this.store.expiredEntities(partition, nowMs, limit);
  }

  async commit(claim: Parameters<PartitionStateWriter['commit']>[0], commit: PartitionCommit): Promise<void> {
    const gate = this.gate;
    if (gate !== undefined) {
      this.gate = undefined;
      this.holding.resolve();
      await gate.promise;
    }
    try {
      await this.store.commit(claim, commit);
      this.committed.push(commit);
    } catch (error) {
      this.rejected.push(error);
      throw error;
    }
  }
}

function startReducer(writer: PartitionStateWriter, claimCheckIntervalMs?: number): PartitionReducer {
  const reducer = new PartitionReducer({
    partition: 0,
    log: embedded.log,
    store: writer,
    feed: embedded.feed,
    logger: silentLogger,
    ...(claimCheckIntervalMs === undefined ? {} : { claimCheckIntervalMs }),
  });
  reducers.push(reducer);
  return reducer;
}

const append = (id: string, properties: Record<string, unknown>) =>
  embedded.log.append([{ partition: 0, key: id, value: JSON.stringify(parseEnvelope(envelope(id, properties))) }]);

describe('fencing', () => {
  it('a second claim fences the first owner: its next commit is refused and it stops', async () => {
    const changes = new Collector<ChangeRecord>();
    embedded.feed.subscribe((batch) => changes.push(...batch));
    const first = new RecordingWriter(embedded.state);
    const a = startReducer(first);
    await a.start();
    for (let n = 1; n <= 3; n++) await append('ns/x', { n, [`by-first-${n}`]: true });
    await within(a.waitForOffset(2), 'the first reducer to apply offsets 0..2');

    const second = new RecordingWriter(embedded.state);
    const b = startReducer(second);
    await b.start();
    expect(b.appliedOffset).toBe(2);

    for (let n = 4; n <= 5; n++) await append('ns/x', { n, [`after-claim-${n}`]: true });
    await within(b.waitForOffset(4), 'the second reducer to apply offsets 3..4');
    const failure = await within(
      a.done.then(
        () => undefined,
        (error: unknown) => error,
      ),
      'the first reducer to stop',
    );
    expect(failure).toMatchObject({ code: ErrorCode.Fenced });
    expect(first.rejected).toHaveLength(1);
    expect((first.rejected[0] as FluxError).code).toBe(ErrorCode.Fenced);
    expect(a.appliedOffset).toBe(2);

    // Offsets 3 and 4 were written by the second owner only, once.
    expect(Math.max(...first.committed.map((commit) => commit.lastOffset))).toBe(2);
    expect(second.committed.map((commit) => commit.lastOffset)).toContain(4);
    const entity = await embedded.state.getEntity('ns/x');
    expect(entity?.version).toBe(5);
    expect(entity?.properties).toMatchObject({ n: 5, 'after-claim-4': true, 'after-claim-5': true });
    expect(await embedded.state.eventsApplied()).toBe(5);
    expect(await embedded.state.history('ns/x', { sinceMs: 0, limit: 100 })).toHaveLength(5);
    expect(changes.items.map((change) => change.offset)).toEqual([0, 1, 2, 3, 4]);
  });

  it('a stale owner whose batch was in flight when it was replaced writes nothing', async () => {
    const first = new RecordingWriter(embedded.state);
    const gate = deferred();
    first.gate = gate;
    const a = startReducer(first);
    await a.start();
    await append('ns/raced', { n: 1 });
    // The first reducer has read and merged offset 0 and is about to commit it.
    await within(first.holding.promise, 'the first reducer to reach its commit');

    const second = new RecordingWriter(embedded.state);
    const b = startReducer(second);
    await b.start();
    expect(b.appliedOffset).toBe(-1);
    await within(b.waitForOffset(0), 'the second reducer to apply offset 0');

    // Release the held commit: it must be refused inside the store's transaction.
    gate.resolve();
    await expect(within(a.done, 'the first reducer to stop')).rejects.toMatchObject({ code: ErrorCode.Fenced });
    expect(first.committed).toEqual([]);

    const entity = await embedded.state.getEntity('ns/raced');
    expect(entity?.version).toBe(1);
    expect(await embedded.state.eventsApplied()).toBe(1);
    expect(await embedded.state.history('ns/raced', { sinceMs: 0, limit: 100 })).toHaveLength(1);
    expect((await embedded.state.counts()).byNamespace).toEqual({ ns: 1 });

    // The surviving owner keeps applying.
    await append('ns/raced', { n: 2 });
    await within(b.waitForOffset(1), 'the second reducer to apply offset 1');
    expect((await embedded.state.getEntity('ns/raced'))?.version).toBe(2);
  });

  it('an idle owner learns from its claim check that it was replaced, and stops without a commit', async () => {
    const first = new RecordingWriter(embedded.state);
    const a = startReducer(first, 20);
    await a.start();
    await append('ns/idle', { n: 1 });
    await within(a.waitForOffset(0), 'the first reducer to apply offset 0');

    const b = startReducer(new RecordingWriter(embedded.state));
    await b.start();
    // Nothing more is appended: only the check can tell the first owner.
    await expect(within(a.done, 'the first reducer to stop')).rejects.toMatchObject({ code: ErrorCode.Fenced });
    expect(first.rejected).toEqual([]);

    // Records appended afterwards are the second owner's alone.
    await append('ns/idle', { n: 2 });
    await within(b.waitForOffset(1), 'the second reducer to apply offset 1');
    expect(first.committed.map((commit) => commit.lastOffset)).toEqual([0]);
    expect((await embedded.state.getEntity('ns/idle'))?.version).toBe(2);
  });

  it('a current owner keeps applying while its claim checks pass', async () => {
    const a = startReducer(new RecordingWriter(embedded.state), 1);
    await a.start();
    let stopped = false;
    a.done.then(
      () => (stopped = true),
      () => (stopped = true),
    );
    // Each append is an fsync: the checks run many times between them.
    for (let n = 1; n <= 20; n++) await append('ns/checked', { n });
    await within(a.waitForOffset(19), 'the reducer to apply offsets 0..19');
    expect(stopped).toBe(false);
    expect((await embedded.state.getEntity('ns/checked'))?.version).toBe(20);
  });
});
