import type { LogPosition } from '@flux/domain';

export interface AppendRecord {
  readonly partition: number;
  /** The entity id: Kafka's message key. */
  readonly key: string;
  /** The encoded event (see `encodeEvent`). */
  readonly value: string;
}

export interface LogRecord extends LogPosition {
  readonly key: string;
  readonly value: string;
  /** Epoch milliseconds at which the log stored the record. */
  readonly timestamp: number;
}

export interface LogBatchHandler {
  /**
   * Called with consecutive records of one partition, in offset order. The next batch is
   * not delivered before the returned promise settles; a rejection stops the subscription.
   */
  (records: readonly LogRecord[]): Promise<void>;
}

export interface LogSubscription {
  /** Resolves once the last delivered batch has been handled and no more will be. */
  stop(): Promise<void>;
  /** Settles when the subscription ends: resolves after stop(), rejects when a handler failed. */
  readonly done: Promise<void>;
}

/**
 * A partitioned, append-only, durable log (Kafka, or the embedded log). Offsets start at 0
 * and grow by one per record within a partition.
 */
export interface EventLog {
  readonly partitionCount: number;
  /**
   * Appends records and resolves once all of them are durable, with their positions in
   * input order. Records of one partition keep their input order in the log.
   */
  append(records: readonly AppendRecord[]): Promise<readonly LogPosition[]>;
  /** Reads up to `maxRecords` records of a partition starting at `fromOffset`. */
  read(partition: number, fromOffset: number, maxRecords: number): Promise<readonly LogRecord[]>;
  /** The offset the next appended record of the partition will get. */
  endOffset(partition: number): Promise<number>;
  /** Delivers the partition's records from `fromOffset` on, including records appended later. */
  subscribe(partition: number, fromOffset: number, handler: LogBatchHandler, options?: { maxBatch?: number }): LogSubscription;
  close(): Promise<void>;
}
