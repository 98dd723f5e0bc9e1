import { describe, expect, it } from 'vitest';
import { ErrorCode, FluxError, type ChangeRecord, type FeedRecord, type StoredEntity } from '@flux/domain';
import { Collector, deferred, quietPeriod, type Deferred } from '../src/testing/index.js';
import {
  CatchingUpFeed,
  type ChangeCatchUp,
  type ChangedEntity,
  type ChangedPage,
  type ChangeListener,
  type InterruptibleChangeSource,
  type Unsubscribe,
} from '../src/index.js';

const T0 = 1_767_000_000_000;
const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** A feed of changes that can be cut and resumed by the test, like a gateway's stream from a shard. */
class FakeSource implements InterruptibleChangeSource {
  readonly listeners = new Set<ChangeListener>();
  readonly resumeListeners = new Set<(partitions: readonly number[]) => void>();

  publish(changes: readonly ChangeRecord[]): void {
    for (const listener of this.listeners) listener(changes);
  }

  subscribe(listener: ChangeListener): Unsubscribe {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onResume(listener: (partitions: readonly number[]) => void): Unsubscribe {
    this.resumeListeners.add(listener);
    return () => this.resumeListeners.delete(listener);
  }

  resume(...partitions: number[]): void {
    for (const listener of this.resumeListeners) listener(partitions);
  }
}

/** The store's record of changes, answering each page when the test says so. */
class FakeCatchUp implements ChangeCatchUp {
  positions = new Map<number, number>();
  readonly asked: { partition: number; afterOffset: number; answer: Deferred<ChangedPage> }[] = [];
  private readonly waiters = new Collector<number>();

  async position(partition: number): Promise<number> {
    return this.positions.get(partition) ?? -1;
  }

  changedAfter(partition: number, afterOffset: number): Promise<ChangedPage> {
    const answer = deferred<ChangedPage>();
    this.asked.push({ partition, afterOffset, answer });
    this.waiters.push(this.asked.length);
    return answer.promise;
  }

  /** The next question not answered yet, once it is asked. */
  async question(index: number): Promise<{ partition: number; afterOffset: number; answer: Deferred<ChangedPage> }> {
    await this.waiters.untilCount(index + 1, `catch-up question ${index}`);
    return this.asked[index]!;
  }
}

const upsert = (entityId: string, partition: number, offset: number, value: unknown = offset): ChangeRecord => ({
  kind: 'upsert',
  partition,
  offset,
  entityId,
  changes: [{ property: 'p', value }],
  version: offset + 1,
  timestamp: T0 + offset,
  source: 'test',
});

const entity = (properties: Record<string, unknown>): StoredEntity => ({ properties, version: 1, lastUpdated: T0 });
const changed = (id: string, current: StoredEntity | undefined, extra: Partial<ChangedEntity> = {}): ChangedEntity => ({
  id,
  entity: current,
  deleted: false,
  removed: [],
  ...extra,
});

/** What a listener received, as short strings: `<kind> <entity>@<offset>`. */
const summary = (records: readonly FeedRecord[]): string[] =>
  records.map((record) =>
    record.kind === 'gap' ? `gap p${record.partition}@${record.offset}` : `${record.kind} ${record.entityId}@${record.offset}`,
  );

async function started(positions: Record<number, number> = {}): Promise<{
  source: FakeSource;
  catchUp: FakeCatchUp;
  feed: CatchingUpFeed;
  received: Collector<FeedRecord>;
  stop: Unsubscribe;
}> {
  const source = new FakeSource();
  const catchUp = new FakeCatchUp();
  for (const [partition, position] of Object.entries(positions)) catchUp.positions.set(Number(partition), position);
  const feed = new CatchingUpFeed({ source, catchUp, partitionCount: 2, logger: silent, retryMs: 1 });
  const received = new Collector<FeedRecord>();
  const stop = feed.subscribe((records) => received.push(...records));
  // The first catch-up of each partition, from where it stood when the feed started: nothing new.
  for (let index = 0; index < 2; index++) {
    const { partition, afterOffset, answer } = await catchUp.question(index);
    answer.resolve({ entities: [], position: afterOffset, complete: true });
    expect(afterOffset).toBe(positions[partition] ?? -1);
  }
  await waitUntil(() => source.listeners.size === 1 && catchUp.asked.length === 2);
  await quietPeriod(5);
  return { source, catchUp, feed, received, stop };
}

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe('CatchingUpFeed', () => {
  it('delivers the changes of a feed that misses nothing as they come', async () => {
    const { source, received } = await started({ 0: 4 });
    source.publish([upsert('a', 0, 5), upsert('b', 1, 0)]);
    expect(summary(received.items)).toEqual(['upsert a@5', 'upsert b@0']);
  });

  it('after a resume, sends the entities changed meanwhile as they are, then the changes held back that they do not contain', async () => {
    const { source, catchUp, received } = await started({ 0: 9 });
    source.publish([upsert('x', 0, 10)]);
    source.resume(0);
    const { afterOffset, answer } = await catchUp.question(2);
    // From the last change delivered.
    expect(afterOffset).toBe(10);
    // Live changes while the catch-up reads: held back.
    source.publish([upsert('x', 0, 13), upsert('y', 0, 14), upsert('x', 0, 16)]);
    source.publish([upsert('other', 1, 0)]);
    expect(summary(received.items)).toEqual(['upsert x@10', 'upsert other@0']);

    // The store read x at offset 14: its change at 13 is in the snapshot, the one at 16 is not.
    answer.resolve({ entities: [changed('x', entity({ p: 13 })), changed('gone', undefined, { deleted: true })], position: 14, complete: true });
    await received.untilCount(6, 'the snapshots and the held changes');
    expect(summary(received.items)).toEqual(['upsert x@10', 'upsert other@0', 'snapshot x@14', 'snapshot gone@14', 'upsert y@14', 'upsert x@16']);
    // Later changes flow again; x's changes up to its snapshot stay out even when they come late.
    source.publish([upsert('x', 0, 17)]);
    expect(summary(received.items.slice(6))).toEqual(['upsert x@17']);
  });

  it('reads page after page until it reaches the changes held back', async () => {
    const { source, catchUp, received } = await started({ 0: 0 });
    source.resume(0);
    const first = await catchUp.question(2);
    source.publish([upsert('late', 0, 50)]);
    first.answer.resolve({ entities: [changed('a', entity({ p: 1 }))], position: 30, next: 20, complete: true });
    const second = await catchUp.question(3);
    expect(second.afterOffset).toBe(20);
    second.answer.resolve({ entities: [changed('b', entity({ p: 2 }))], position: 55, next: 52, complete: true });
    await received.untilCount(3, 'both pages and the held change');
    // The second page reached offset 52, past the first change held back (50): no third page.
    await quietPeriod(10);
    expect(catchUp.asked).toHaveLength(4);
    expect(summary(received.items)).toEqual(['snapshot a@30', 'snapshot b@55', 'upsert late@50']);
  });

  it('drops a change published again at or below what it delivered (a reducer replaying after its store lost writes)', async () => {
    const { source, received } = await started({ 0: 3 });
    source.publish([upsert('a', 0, 3), upsert('a', 0, 4), upsert('a', 0, 5)]);
    source.publish([upsert('a', 0, 5), upsert('a', 0, 6)]);
    expect(summary(received.items)).toEqual(['upsert a@4', 'upsert a@5', 'upsert a@6']);
  });

  it('tells listeners to start over when the store no longer knows what changed that far back', async () => {
    const { source, catchUp, received } = await started({ 0: 3 });
    source.resume(0);
    const { answer } = await catchUp.question(2);
    answer.resolve({ entities: [changed('a', entity({ p: 1 }))], position: 9000, complete: false });
    await received.untilCount(2, 'the gap and what is still known');
    expect(summary(received.items)).toEqual(['gap p0@3', 'snapshot a@9000']);
  });

  it('keeps trying a catch-up the store fails, holding the partition back meanwhile', async () => {
    const { source, catchUp, received } = await started({ 0: 3 });
    source.resume(0);
    (await catchUp.question(2)).answer.reject(new FluxError(ErrorCode.StoreUnavailable, 'Redis down'));
    source.publish([upsert('a', 0, 7)]);
    const retry = await catchUp.question(3);
    expect(retry.afterOffset).toBe(3);
    expect(received.items).toEqual([]);
    retry.answer.resolve({ entities: [changed('a', entity({ p: 5 }))], position: 5, complete: true });
    await received.untilCount(2, 'the snapshot and the held change');
    expect(summary(received.items)).toEqual(['snapshot a@5', 'upsert a@7']);
  });

  it('catches up once more when its stream resumes again during a catch-up, or too much is held back', async () => {
    const source = new FakeSource();
    const catchUp = new FakeCatchUp();
    const feed = new CatchingUpFeed({ source, catchUp, partitionCount: 1, logger: silent, maxHeld: 2 });
    const received = new Collector<FeedRecord>();
    feed.subscribe((records) => received.push(...records));
    const first = await catchUp.question(0);
    source.publish([upsert('a', 0, 1), upsert('a', 0, 2), upsert('a', 0, 3)]);
    first.answer.resolve({ entities: [], position: -1, complete: true });
    // Three changes overflowed the two held back: they were dropped and are read from the store instead.
    const again = await catchUp.question(1);
    expect(again.afterOffset).toBe(-1);
    again.answer.resolve({ entities: [changed('a', entity({ p: 3 }))], position: 3, complete: true });
    await received.untilCount(1, 'the snapshot');
    expect(summary(received.items)).toEqual(['snapshot a@3']);
  });

  it('stops listening to its source when its last listener leaves', async () => {
    const { source, stop } = await started();
    expect(source.listeners.size).toBe(1);
    stop();
    expect(source.listeners.size).toBe(0);
    expect(source.resumeListeners.size).toBe(0);
  });

  it('does not start listening when its only listener left while it read where the partitions stand', async () => {
    const source = new FakeSource();
    const feed = new CatchingUpFeed({ source, catchUp: new FakeCatchUp(), partitionCount: 2, logger: silent });
    feed.subscribe(() => {})();
    await quietPeriod(10);
    expect(source.listeners.size).toBe(0);
  });
});
