import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { ErrorCode, FluxError } from '@flux/domain';
import type { LogBatchHandler, LogRecord, LogSubscription } from '@flux/core';
import { errorMessage, toLogRecord, type KafkaLogSink } from './kafka-client.js';
import { createAssignedConsumer, type ConsumerTuning } from './kafka-consumer-config.js';

export interface KafkaSubscriptionOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly partition: number;
  readonly fromOffset: number;
  readonly handler: LogBatchHandler;
  readonly maxBatch: number;
  readonly groupId: string;
  readonly tuning: ConsumerTuning;
  readonly logger: KafkaLogSink;
}

/**
 * One partition delivered to one handler by a consumer in a group of its own. The position is
 * kept here (`next`), not in Kafka: it is sought on every group join, and records below it
 * are dropped, so a rebalance or a kafkajs restart never redelivers or skips a record.
 */
export class KafkaSubscription implements LogSubscription {
  readonly done: Promise<void>;
  private readonly consumer: Consumer;
  private readonly started: Promise<void>;
  private next: number;
  /** Set once stop() was called or the subscription failed: no batch is delivered after it. */
  private ending = false;
  private failure: { readonly error: unknown } | undefined;
  private inFlight: Promise<void> | undefined;
  private shutdown: Promise<void> | undefined;
  private resolveDone!: () => void;
  private rejectDone!: (error: unknown) => void;

  constructor(private readonly options: KafkaSubscriptionOptions) {
    this.next = options.fromOffset;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Nobody has to listen to done; its rejection must not become an unhandled one.
    this.done.catch(() => undefined);

    const { kafka, topic, partition, groupId, tuning } = options;
    this.consumer = createAssignedConsumer(kafka, topic, groupId, [partition], tuning);
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      // Every (re)join starts from a position kafkajs does not know: put it where we are.
      try {
        this.consumer.seek({ topic, partition, offset: String(this.next) });
      } catch (error) {
        this.fail(error);
      }
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.fail(payload.error);
    });
    this.started = this.start();
    this.started.catch((error: unknown) => this.fail(error));
  }

  stop(): Promise<void> {
    this.ending = true;
    return this.close();
  }

  private async start(): Promise<void> {
    const { topic } = this.options;
    await this.consumer.connect();
    // fromBeginning only matters before the first seek lands: earlier records are dropped,
    // later ones would be skipped, so too early is the safe side.
    await this.consumer.subscribe({ topics: [topic], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  private async onBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    const { partition, maxBatch } = this.options;
    if (batch.partition !== partition || batch.topic !== this.options.topic) return;
    const records: LogRecord[] = [];
    for (const message of batch.messages) {
      const record = toLogRecord(partition, message);
      if (record.offset < this.next) continue;
      if (record.offset !== this.next + records.length) {
        this.fail(
          new FluxError(
            ErrorCode.Internal,
            `partition ${partition} of ${this.options.topic} has no record at offset ${this.next + records.length} ` +
              `(the next one is ${record.offset}); it was deleted before it was read`,
          ),
        );
        return;
      }
      records.push(record);
    }
    if (records.length === 0) {
      // Nothing new (records below the position): let kafkajs move past them.
      const last = batch.messages.at(-1);
      if (last !== undefined && Number(last.offset) < this.next) resolveOffset(last.offset);
      return;
    }

    for (let start = 0; start < records.length; start += maxBatch) {
      if (this.ending || !isRunning() || isStale()) return;
      const chunk = records.slice(start, start + maxBatch);
      const delivered = await this.deliver(chunk, heartbeat);
      if (!delivered) return;
      this.next = chunk.at(-1)!.offset + 1;
      resolveOffset(String(this.next - 1));
    }
  }

  /** Runs the handler, heartbeating while it works so a long batch does not cost the group. */
  private async deliver(records: readonly LogRecord[], heartbeat: () => Promise<void>): Promise<boolean> {
    const beat = setInterval(() => {
      heartbeat().catch(() => undefined);
    }, this.options.tuning.heartbeatIntervalMs);
    let run: Promise<void>;
    try {
      run = this.options.handler(records);
    } catch (error) {
      // A handler that throws instead of rejecting: same thing (never let it reach kafkajs).
      run = Promise.reject(error);
    }
    this.inFlight = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      await run;
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    } finally {
      clearInterval(beat);
      this.inFlight = undefined;
    }
  }

  /** Ends the subscription with `error` (the first one wins); done rejects with it. */
  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = { error };
    this.ending = true;
    // Not awaited: this may run inside eachBatch, which disconnect() waits for.
    void this.close();
  }

  /** Waits for the batch in flight, then leaves the group and disconnects; settles done. */
  private close(): Promise<void> {
    this.shutdown ??= (async () => {
      await this.started.catch(() => undefined);
      await this.inFlight;
      try {
        await this.consumer.disconnect();
      } catch (error) {
        this.options.logger.warn(
          { module: 'kafka-subscription', topic: this.options.topic, partition: this.options.partition, err: errorMessage(error) },
          'disconnecting a log subscription failed',
        );
      }
      if (this.failure !== undefined) this.rejectDone(this.failure.error);
      else this.resolveDone();
    })();
    return this.shutdown;
  }
}
