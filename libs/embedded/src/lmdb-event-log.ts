import { join } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import { ErrorCode, FluxError, type LogPosition } from '@flux/domain';
import type { AppendRecord, EventLog, LogBatchHandler, LogRecord, LogSubscription } from '@flux/core';
import { AppendSignal } from './append-signal.js';
import { openLmdbEnvironment } from './lmdb-environment.js';
import { LogTailSubscription } from './log-tail-subscription.js';

// `void db.put(...)`/`void db.remove(...)`: inside a transaction callback lmdb applies the write at
// once, and the transaction's own promise (awaited by the caller) reports whether it committed.

export interface LmdbEventLogOptions {
  /** Directory of the log's own LMDB environment (created when missing). */
  readonly path: string;
  /**
   * Partitions of a new log. A log is created with a fixed count (like a Kafka topic); when it
   * already exists its stored count wins and is what `partitionCount` reports, whatever is
   * passed here, so that records are never re-partitioned behind the reducers' back.
   */
  readonly partitionCount?: number;
  /** Clock for record timestamps (epoch milliseconds). */
  readonly now?: () => number;
}

/** Records per batch a subscription delivers when the subscriber sets no maxBatch. */
export const DEFAULT_MAX_BATCH = 1000;

/**
 * [partition, last offset of the chunk]: lmdb's ordered-binary keys sort numerically, partition
 * first. Ranges also use the one-element [partition] as a bound, hence the plain array type.
 */
type ChunkKey = number[];
/**
 * Consecutive records of one partition written together (every append of one event-loop turn,
 * see writeQueued), stored as one LMDB entry: a batch of a thousand events, or a thousand
 * concurrent single-event appends, cost one write per partition instead of one per event.
 * Flat rather than nested (no object or tuple per record) so that encoding and decoding
 * allocate little.
 */
type StoredChunk = [timestamp: number, ...keysAndValues: string[]];
/** Calls `visit(offset, key, value, timestamp)` for each record of a stored entry. */
function forEachRecord(
  lastOffset: number,
  entry: StoredChunk,
  visit: (offset: number, key: string, value: string, timestamp: number) => boolean | void,
): void {
  const timestamp = entry[0];
  const count = (entry.length - 1) / 2;
  const first = lastOffset - count + 1;
  for (let i = 0; i < count; i++) {
    if (visit(first + i, entry[1 + 2 * i] as string, entry[2 + 2 * i] as string, timestamp) === false) return;
  }
}

interface QueuedAppend {
  readonly records: readonly AppendRecord[];
  resolve(positions: readonly LogPosition[]): void;
  reject(error: unknown): void;
}

const PARTITION_COUNT = 'partitionCount';
/** Per partition, the first offset still stored (everything before it was truncated). */
const startKey = (partition: number): [string, number] => ['start', partition];

/**
 * The embedded partitioned log: one LMDB environment holding every partition's records in
 * chunks (one per write and partition) under [partition, last offset]. Appends resolve
 * once durable (see openLmdbEnvironment); offsets are assigned inside the write transaction,
 * so they stay gap-free even when a transaction fails.
 */
export class LmdbEventLog implements EventLog {
  readonly partitionCount: number;
  private readonly records: Database<StoredChunk, ChunkKey>;
  private readonly meta: Database<number, string | [string, number]>;
  private readonly signal = new AppendSignal();
  private readonly subscriptions = new Set<LogTailSubscription>();
  private readonly appendListeners = new Set<(partitions: readonly number[]) => void>();
  private readonly now: () => number;
  private closing: Promise<void> | undefined;
  /** Appends waiting for the end of the event-loop turn (see writeQueued). */
  private queued: QueuedAppend[] = [];
  /** Settles when the last transaction of queued appends did. */
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly root: RootDatabase,
    options: LmdbEventLogOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.records = root.openDB<StoredChunk, ChunkKey>('records', {});
    this.meta = root.openDB<number, string | [string, number]>('meta', {});
    const stored = this.meta.get(PARTITION_COUNT);
    if (stored !== undefined) {
      this.partitionCount = stored;
    } else {
      const requested = options.partitionCount;
      if (requested === undefined || !Number.isInteger(requested) || requested < 1) {
        throw new RangeError(`a new log needs a positive integer partitionCount, got ${String(requested)}`);
      }
      this.meta.putSync(PARTITION_COUNT, requested);
      this.partitionCount = requested;
    }
  }

  /** Opens (or creates) the log in `options.path`. */
  static open(options: LmdbEventLogOptions): LmdbEventLog {
    const root = openLmdbEnvironment(options.path);
    try {
      return new LmdbEventLog(root, options);
    } catch (error) {
      void root.close();
      throw error;
    }
  }

  /** The log inside an embedded data directory (`<dataDir>/log`). */
  static openIn(dataDir: string, options: Omit<LmdbEventLogOptions, 'path'> = {}): LmdbEventLog {
    return LmdbEventLog.open({ ...options, path: join(dataDir, 'log') });
  }

  append(records: readonly AppendRecord[]): Promise<readonly LogPosition[]> {
    try {
      this.assertOpen();
      // Validate the whole call first: a bad record fails the call before anything is written.
      for (const record of records) this.assertPartition(record.partition);
    } catch (error) {
      return Promise.reject(error);
    }
    if (records.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      if (this.queued.length === 0) setImmediate(() => this.writeQueued());
      this.queued.push({ records, resolve, reject });
    });
  }

  /**
   * Writes every append queued during this turn of the event loop in one child transaction,
   * one chunk per partition: under many concurrent single-event requests, one write instead
   * of one per request. A call's records are written all together or not at all, since the
   * whole transaction is.
   */
  private writeQueued(): void {
    const calls = this.queued;
    if (calls.length === 0) return; // already written by close()
    this.queued = [];
    // Per partition, where its records are, as flat (call, index) pairs: no object per record.
    const byPartition = new Map<number, number[]>();
    calls.forEach(({ records }, call) => {
      records.forEach(({ partition }, index) => {
        const places = byPartition.get(partition);
        if (places === undefined) byPartition.set(partition, [call, index]);
        else places.push(call, index);
      });
    });
    const write = (): LogPosition[][] => {
      const timestamp = this.now();
      const assigned = calls.map(({ records }) => new Array<LogPosition>(records.length));
      for (const [partition, places] of byPartition) {
        const first = this.endOffsetNow(partition);
        const chunk: StoredChunk = [timestamp];
        for (let i = 0; i < places.length; i += 2) {
          const call = places[i]!;
          const index = places[i + 1]!;
          const { key, value } = calls[call]!.records[index]!;
          chunk.push(key, value);
          assigned[call]![index] = { partition, offset: first + i / 2 };
        }
        void this.records.put([partition, first + places.length / 2 - 1], chunk);
      }
      return assigned;
    };
    let written: Promise<LogPosition[][]>;
    try {
      written = this.records.childTransaction(write);
    } catch (error) {
      // Runs from setImmediate: a synchronous throw must reach the callers, not the process.
      written = Promise.reject(error);
    }
    this.writing = written.then(
      (assigned) => {
        for (const partition of byPartition.keys()) this.signal.notify(partition);
        if (this.appendListeners.size > 0) {
          const partitions = [...byPartition.keys()];
          for (const listener of this.appendListeners) listener(partitions);
        }
        calls.forEach(({ resolve }, call) => resolve(assigned[call]!));
      },
      (error: unknown) => calls.forEach(({ reject }) => reject(error)),
    );
  }

  async read(partition: number, fromOffset: number, maxRecords: number): Promise<readonly LogRecord[]> {
    this.assertOpen();
    return this.readBatch(partition, fromOffset, maxRecords);
  }

  async endOffset(partition: number): Promise<number> {
    this.assertOpen();
    this.assertPartition(partition);
    return this.endOffsetNow(partition);
  }

  subscribe(partition: number, fromOffset: number, handler: LogBatchHandler, options: { maxBatch?: number } = {}): LogSubscription {
    this.assertOpen();
    this.assertPartition(partition);
    assertOffset(fromOffset, 'fromOffset');
    const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);

    const subscription = new LogTailSubscription(
      { readBatch: (p, offset, max) => this.readBatch(p, offset, max), nextAppend: (p) => this.signal.next(p) },
      partition,
      fromOffset,
      handler,
      maxBatch,
    );
    this.subscriptions.add(subscription);
    void subscription.done.catch(() => undefined).finally(() => this.subscriptions.delete(subscription));
    return subscription;
  }

  /**
   * Hears the partitions of each append of this thread once it is durable and readable: a
   * thread that tails the same log (see appendedElsewhere) must be told, since its
   * subscriptions only wake on its own appends.
   */
  onAppend(listener: (partitions: readonly number[]) => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  /**
   * Records were appended to these partitions by another thread of the process: subscriptions
   * here read them. lmdb-js keeps a thread's read snapshot until its next timer turn, so the
   * snapshot is renewed first, or a tailer woken within the same turn would still see nothing.
   */
  appendedElsewhere(partitions: readonly number[]): void {
    if (this.closing !== undefined) return;
    this.root.resetReadTxn();
    for (const partition of partitions) this.signal.notify(partition);
  }

  /**
   * The first offset of a partition still stored; earlier records were truncated.
   */
  async startOffset(partition: number): Promise<number> {
    this.assertOpen();
    this.assertPartition(partition);
    return this.startOffsetNow(partition);
  }

  /**
   * Drops the records of a partition before `offset` (clamped to the end offset) so the log
   * does not grow forever; call it with offsets every reader has durably applied. Offsets are
   * never reused: the end offset survives even when every record was dropped. Reading or
   * subscribing below the new start fails. Resolves with the number of records dropped. Disk
   * space comes back a whole chunk at a time, once every record of the chunk is dropped.
   */
  async truncateBefore(partition: number, offset: number): Promise<number> {
    this.assertOpen();
    this.assertPartition(partition);
    assertOffset(offset, 'offset');
    return this.records.childTransaction(() => {
      const start = this.startOffsetNow(partition);
      const until = Math.min(offset, this.endOffsetNow(partition));
      if (until <= start) return 0;
      // Chunks whose last offset lies before `until`; collected first, so that no cursor is
      // invalidated by removing under it.
      const dropped = [...this.records.getKeys({ start: [partition], end: [partition, until] })];
      for (const key of dropped) void this.records.remove(key);
      void this.meta.put(startKey(partition), until);
      return until - start;
    });
  }

  /**
   * Writes the appends already accepted, stops every subscription (after its batch in flight)
   * and closes the environment.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // Appends accepted before close() are still written.
      this.writeQueued();
      await this.writing;
      await Promise.all([...this.subscriptions].map((s) => s.stop()));
      await this.root.close();
    })();
    return this.closing;
  }

  private readBatch(partition: number, fromOffset: number, maxRecords: number): LogRecord[] {
    this.assertPartition(partition);
    assertOffset(fromOffset, 'fromOffset');
    if (!Number.isInteger(maxRecords) || maxRecords < 0) throw new RangeError(`maxRecords must be a non-negative integer, got ${maxRecords}`);
    // Both reads below run in one synchronous step, hence on one LMDB snapshot.
    const start = this.startOffsetNow(partition);
    if (fromOffset < start) {
      throw new FluxError(
        ErrorCode.Internal,
        `partition ${partition} was truncated before offset ${start}; offset ${fromOffset} is no longer available`,
      );
    }
    if (maxRecords === 0) return [];
    const out: LogRecord[] = [];
    // The first chunk whose last offset is at or past fromOffset is the one that holds it.
    for (const { key: chunkKey, value: entry } of this.records.getRange({ start: [partition, fromOffset], end: [partition + 1] })) {
      forEachRecord(chunkKey[1]!, entry, (offset, key, value, timestamp) => {
        if (offset < fromOffset) return true;
        out.push({ partition, offset, key, value, timestamp });
        return out.length < maxRecords;
      });
      if (out.length >= maxRecords) break;
    }
    return out;
  }

  /** Inside a write transaction this sees the transaction's own writes. */
  private endOffsetNow(partition: number): number {
    // [partition + 1] sorts after every [partition, last offset] key and is never a key itself.
    for (const key of this.records.getKeys({ start: [partition + 1], end: [partition], reverse: true, limit: 1 })) {
      return key[1]! + 1;
    }
    return this.startOffsetNow(partition);
  }

  private startOffsetNow(partition: number): number {
    return this.meta.get(startKey(partition)) ?? 0;
  }

  private assertPartition(partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) {
      throw new RangeError(`partition must be an integer from 0 to ${this.partitionCount - 1}, got ${partition}`);
    }
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new FluxError(ErrorCode.LogUnavailable, 'the log is closed');
  }
}

function assertOffset(offset: number, name: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`${name} must be a non-negative integer, got ${offset}`);
}
