import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ErrorCode, FluxError, type CommitProgress, type StoredEvent } from '@flux/domain';
import { AppliedPositions, MemoryChangeFeed, type AppliedPositionsOptions, type HistoryQuery } from '../src/index.js';

const PARTITIONS = 4;

/** A change source whose delivery can be said to resume, as a shard's stream does. */
class ResumableFeed extends MemoryChangeFeed {
  private readonly resumeListeners = new Set<(partitions: readonly number[]) => void>();
  onResume(listener: (partitions: readonly number[]) => void): () => void {
    this.resumeListeners.add(listener);
    return () => this.resumeListeners.delete(listener);
  }
  resume(partitions: readonly number[]): void {
    for (const listener of this.resumeListeners) listener(partitions);
  }
}

/** The store's side: applied offsets and history, as a test sets them. */
class FakeStore {
  readonly applied = new Map<number, number>();
  readonly entries = new Map<string, StoredEvent[]>();
  positionReads = 0;
  async position(partition: number): Promise<number> {
    this.positionReads++;
    return this.applied.get(partition) ?? -1;
  }
  async history(entityId: string, _query: HistoryQuery): Promise<readonly StoredEvent[]> {
    return this.entries.get(entityId) ?? [];
  }
  record(entityId: string, entry: Omit<StoredEvent, 'event' | 'storedAt'>): void {
    const event = { eventId: `e${entry.offset}`, stream: 's', source: 't', timestamp: 1, payload: { entity_id: entityId, properties: {} } };
    this.entries.set(entityId, [{ event, storedAt: 1, ...entry }, ...(this.entries.get(entityId) ?? [])]);
  }
}

function setUp(options: Partial<AppliedPositionsOptions> = {}): { feed: ResumableFeed; store: FakeStore; applied: AppliedPositions } {
  const feed = new ResumableFeed();
  const store = new FakeStore();
  const applied = new AppliedPositions({
    source: feed,
    store,
    history: store,
    partitionCount: PARTITIONS,
    maxWaiting: 10,
    logger: pino({ level: 'silent' }),
    ...options,
  });
  return { feed, store, applied };
}

const commit = (partition: number, lastOffset: number, outcomes: CommitProgress['outcomes']): CommitProgress => ({ partition, lastOffset, outcomes });

describe('AppliedPositions', () => {
  it('settles writers waiting for their events with the outcomes of the commit that decided them', async () => {
    const { feed, applied } = setUp();
    const reservation = applied.reserve();
    const waiting = reservation.outcomes(
      [
        { position: { partition: 1, offset: 5 }, entityId: 'a' },
        { position: { partition: 1, offset: 6 }, entityId: 'b' },
        { position: { partition: 1, offset: 7 }, entityId: 'c' },
        { position: { partition: 1, offset: 8 }, entityId: 'd' },
      ],
      5_000,
    );
    feed.publish(
      [],
      commit(1, 6, [
        { offset: 5, kind: 'applied', version: 3 },
        { offset: 6, kind: 'conflict', currentVersion: 3 },
      ]),
    );
    feed.publish([], commit(1, 8, [{ offset: 8, kind: 'refused', currentVersion: 1 }]));
    await expect(waiting).resolves.toEqual([
      { offset: 5, kind: 'applied', version: 3 },
      { offset: 6, kind: 'conflict', currentVersion: 3 },
      // Offset 7 is in the commit but has no outcome: it was no event (a skipped record).
      { kind: 'unknown' },
      { offset: 8, kind: 'refused', currentVersion: 1 },
    ]);
    reservation.release();
    expect(applied.waitingCount).toBe(0);
  });

  it('reads back from the store an event whose commit came before its writer waited', async () => {
    const { store, applied } = setUp();
    store.applied.set(2, 40);
    store.record('a', { offset: 30, version: 7 });
    store.record('b', { offset: 31, rejected: { code: 'version_conflict', currentVersion: 2 } });
    const reservation = applied.reserve();
    await expect(
      reservation.outcomes(
        [
          { position: { partition: 2, offset: 30 }, entityId: 'a' },
          { position: { partition: 2, offset: 31 }, entityId: 'b' },
          // Applied (the partition is past it) but gone from the history: say so, do not guess.
          { position: { partition: 2, offset: 32 }, entityId: 'c' },
        ],
        5_000,
      ),
    ).resolves.toEqual([{ offset: 30, kind: 'applied', version: 7 }, { offset: 31, kind: 'conflict', currentVersion: 2 }, { kind: 'unknown' }]);
    // The partition's offset was read once and is known from then on.
    await applied.waitForPosition({ partition: 2, offset: 40 }, 1_000);
    expect(store.positionReads).toBe(1);
  });

  it('reads positions and outcomes back when delivery of a partition resumes after missing commits', async () => {
    const { feed, store, applied } = setUp();
    feed.publish([], commit(3, 10, []));
    const reservation = applied.reserve();
    const write = reservation.outcomes([{ position: { partition: 3, offset: 12 }, entityId: 'a' }], 5_000);
    const read = applied.waitForPosition({ partition: 3, offset: 11 }, 5_000);
    // The commit of 11..12 happened while the stream was down: only the store knows.
    store.applied.set(3, 12);
    store.record('a', { offset: 12, version: 2 });
    feed.resume([3]);
    await expect(write).resolves.toEqual([{ offset: 12, kind: 'applied', version: 2 }]);
    await expect(read).resolves.toBeUndefined();
    reservation.release();
  });

  it('times out a wait that its partition does not reach in time', async () => {
    const { applied } = setUp();
    const started = Date.now();
    const error = await applied.waitForPosition({ partition: 0, offset: 3 }, 50).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FluxError);
    expect((error as FluxError).code).toBe(ErrorCode.WaitTimeout);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    const reservation = applied.reserve();
    await expect(reservation.outcomes([{ position: { partition: 0, offset: 3 }, entityId: 'a' }], 20)).resolves.toEqual([{ kind: 'timeout' }]);
    reservation.release();
    expect(applied.waitingCount).toBe(0);
  });

  it('refuses a wait past the bound of waiting requests, before anything is appended', () => {
    const { applied } = setUp({ maxWaiting: 2 });
    const first = applied.reserve();
    const second = applied.reserve();
    const refused = (() => {
      try {
        applied.reserve();
        return undefined;
      } catch (error) {
        return error as FluxError;
      }
    })();
    expect(refused?.code).toBe(ErrorCode.Unavailable);
    first.release();
    first.release(); // idempotent: frees one place only
    applied.reserve().release();
    second.release();
    expect(applied.waitingCount).toBe(0);
  });

  it('refuses a partition the log does not have', async () => {
    const { applied } = setUp();
    await expect(applied.waitForPosition({ partition: PARTITIONS, offset: 0 }, 100)).rejects.toMatchObject({ code: ErrorCode.Validation });
  });

  it('settles whoever still waits when it closes', async () => {
    const { applied } = setUp();
    const reservation = applied.reserve();
    const waiting = reservation.outcomes([{ position: { partition: 1, offset: 1 }, entityId: 'a' }], 60_000);
    applied.close();
    await expect(waiting).resolves.toEqual([{ kind: 'timeout' }]);
    expect(() => applied.reserve()).toThrow(FluxError);
  });
});
