import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { ErrorCode, FluxError } from '@flux/domain';
import type { LogRecord } from '@flux/core';
import { errorMessage, toLogRecord, type KafkaLogSink } from './kafka-client.js';
import { createAssignedConsumer, type ConsumerTuning } from './kafka-consumer-config.js';

interface PendingRead {
  readonly from: number;
  /** Records wanted: min(maxRecords, records known to exist from `from`). */
  readonly want: number;
  readonly records: LogRecord[];
  readonly resolve: (records: LogRecord[]) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
  reseeks: number;
}

/** Re-seeks tolerated per read when a batch does not start where it should (a stale fetch). */
const MAX_RESEEKS = 3;
/** Partitions whose last fetched batch is kept for the next reads (at most one batch each). */
const CACHED_PARTITIONS = 8;

/**
 * Random-access reads (EventLog.read) over one long-lived consumer that owns every partition
 * of the topic, in a group of its own: joining a group costs a round trip or three, so it is
 * paid once per log, not per read. Partitions stay paused; a read seeks its partition, resumes
 * it until the wanted records arrived, and pauses it again. Reads of one partition run one at
 * a time, reads of different partitions concurrently. The last batch fetched for a few
 * partitions is kept: records never change once written, and reads tend to come in runs.
 */
export class KafkaPartitionReader {
  private readonly consumer: Consumer;
  private readonly started: Promise<void>;
  private readonly pending = new Map<number, PendingRead>();
  private readonly queues = new Map<number, Promise<unknown>>();
  /** Per partition, consecutive records of the last batch fetched (most recently used last). */
  private readonly cache = new Map<number, readonly LogRecord[]>();
  private closing: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    partitionCount: number,
    groupId: string,
    private readonly tuning: ConsumerTuning,
    private readonly logger: KafkaLogSink,
  ) {
    const partitions = Array.from({ length: partitionCount }, (_, p) => p);
    this.consumer = createAssignedConsumer(kafka, topic, groupId, partitions, tuning);
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      // After any (re)join: idle partitions paused, reads in progress sought to where they are.
      try {
        const idle = partitions.filter((p) => !this.pending.has(p));
        if (idle.length > 0) this.consumer.pause([{ topic, partitions: idle }]);
        for (const [partition, read] of this.pending) this.seek(partition, read.from + read.records.length);
      } catch (error) {
        this.logger.warn({ module: 'kafka-reader', topic, err: errorMessage(error) }, 'positioning the log reader failed');
      }
    });
    this.started = this.start();
    this.started.catch(() => undefined);
  }

  /**
   * Reads `want` (> 0) records of `partition` from `from`; the caller checked that they exist
   * (below the high watermark), so this waits for them rather than for the end.
   */
  read(partition: number, from: number, want: number): Promise<LogRecord[]> {
    if (this.closing !== undefined) return Promise.reject(new FluxError(ErrorCode.LogUnavailable, 'the log is closed'));
    const previous = this.queues.get(partition) ?? Promise.resolve();
    const result = previous.catch(() => undefined).then(() => this.readNow(partition, from, want));
    const tail = result.catch(() => undefined);
    this.queues.set(partition, tail);
    void tail.then(() => {
      if (this.queues.get(partition) === tail) this.queues.delete(partition);
    });
    return result;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const [partition, read] of this.pending) this.finish(partition, read, new FluxError(ErrorCode.LogUnavailable, 'the log is closed'));
      await this.started.catch(() => undefined);
      try {
        await this.consumer.disconnect();
      } catch (error) {
        this.logger.warn({ module: 'kafka-reader', topic: this.topic, err: errorMessage(error) }, 'disconnecting the log reader failed');
      }
    })();
    return this.closing;
  }

  private async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  private async readNow(partition: number, from: number, want: number): Promise<LogRecord[]> {
    const cached = this.cached(partition, from, want);
    if (cached.length >= want) return cached;
    await this.started;
    if (this.closing !== undefined) throw new FluxError(ErrorCode.LogUnavailable, 'the log is closed');
    return new Promise<LogRecord[]>((resolve, reject) => {
      const read: PendingRead = {
        from,
        want,
        records: cached,
        resolve,
        reject,
        reseeks: 0,
        timer: setTimeout(() => {
          this.finish(
            partition,
            read,
            new FluxError(
              ErrorCode.LogUnavailable,
              `reading partition ${partition} of ${this.topic} from offset ${from} timed out after ${this.tuning.readTimeoutMs} ms`,
            ),
          );
        }, this.tuning.readTimeoutMs),
      };
      this.pending.set(partition, read);
      try {
        this.seek(partition, from + cached.length);
        this.consumer.resume([{ topic: this.topic, partitions: [partition] }]);
      } catch (error) {
        this.finish(partition, read, error);
      }
    });
  }

  private async onBatch({ batch }: EachBatchPayload): Promise<void> {
    const { partition } = batch;
    const read = this.pending.get(partition);
    if (read === undefined) {
      this.pause(partition);
      return;
    }
    const records = batch.messages.map((message) => toLogRecord(partition, message));
    this.remember(partition, records);
    for (const record of records) {
      const expected = read.from + read.records.length;
      const { offset } = record;
      if (offset < expected) continue;
      if (offset > expected) {
        // A fetch from somewhere else (sought before this read): go back to where it should be.
        if (++read.reseeks > MAX_RESEEKS) {
          this.finish(
            partition,
            read,
            new FluxError(ErrorCode.Internal, `partition ${partition} of ${this.topic} has no record at offset ${expected} (next: ${offset})`),
          );
        } else {
          this.seek(partition, expected);
        }
        return;
      }
      read.records.push(record);
      if (read.records.length >= read.want) break;
    }
    if (read.records.length >= read.want) this.finish(partition, read);
  }

  /** Cached records of `partition` from `from` on (up to `want`); [] on a miss. */
  private cached(partition: number, from: number, want: number): LogRecord[] {
    const records = this.cache.get(partition);
    const first = records?.[0]?.offset;
    if (records === undefined || first === undefined || from < first || from >= first + records.length) return [];
    this.cache.delete(partition);
    this.cache.set(partition, records);
    return records.slice(from - first, from - first + want);
  }

  private remember(partition: number, records: readonly LogRecord[]): void {
    const first = records[0]?.offset;
    if (first === undefined || records.some((r, i) => r.offset !== first + i)) return;
    this.cache.delete(partition);
    this.cache.set(partition, records);
    for (const oldest of this.cache.keys()) {
      if (this.cache.size <= CACHED_PARTITIONS) break;
      this.cache.delete(oldest);
    }
  }

  private finish(partition: number, read: PendingRead, error?: unknown): void {
    if (this.pending.get(partition) !== read) return;
    clearTimeout(read.timer);
    this.pending.delete(partition);
    this.pause(partition);
    if (error === undefined) read.resolve(read.records);
    else read.reject(error);
  }

  private seek(partition: number, offset: number): void {
    this.consumer.seek({ topic: this.topic, partition, offset: String(offset) });
  }

  private pause(partition: number): void {
    try {
      this.consumer.pause([{ topic: this.topic, partitions: [partition] }]);
    } catch {
      // Not running (closing): nothing to pause.
    }
  }
}
