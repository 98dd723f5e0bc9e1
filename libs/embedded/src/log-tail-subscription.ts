import { setImmediate as nextTurn } from 'node:timers/promises';
import type { LogBatchHandler, LogRecord, LogSubscription } from '@flux/core';

export interface LogTailSource {
  /** Reads up to `max` records from `offset` synchronously (throws when they were truncated). */
  readBatch(partition: number, offset: number, max: number): readonly LogRecord[];
  /** Resolves at the next append to `partition`. */
  nextAppend(partition: number): Promise<void>;
}

/**
 * Tails one partition: reads a batch, hands it to the handler, and only reads the next batch
 * once the handler settled. When caught up it waits for an append signal (no polling).
 */
export class LogTailSubscription implements LogSubscription {
  readonly done: Promise<void>;
  private stopping = false;
  /** Ends the current wait for an append (set only while waiting). */
  private wake: (() => void) | undefined;

  constructor(
    private readonly source: LogTailSource,
    private readonly partition: number,
    fromOffset: number,
    private readonly handler: LogBatchHandler,
    private readonly maxBatch: number,
  ) {
    this.done = this.run(fromOffset);
    // Owners learn about a failure through `done`; one that is not awaited must not crash the
    // process with an unhandled rejection.
    this.done.catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.done.catch(() => undefined);
  }

  private async run(fromOffset: number): Promise<void> {
    // Start asynchronously, so a subscriber never sees its handler run inside subscribe().
    await Promise.resolve();
    let offset = fromOffset;
    while (!this.stopping) {
      const records = this.source.readBatch(this.partition, offset, this.maxBatch);
      if (records.length === 0) {
        // Taken in the same synchronous step as the empty read: no append can be missed. A
        // fresh promise per wait (rather than racing one long-lived stop promise) keeps a
        // long-running tail from piling up reactions.
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          void this.source.nextAppend(this.partition).then(resolve);
        });
        this.wake = undefined;
        continue;
      }
      await this.handler(records);
      // Applying is a chain of promises that never waits for I/O: without a turn of the event
      // loop here, every partition's batches would run back to back while requests and timers wait.
      await nextTurn();
      offset = records[records.length - 1]!.offset + 1;
    }
  }
}
