import type { Logger } from 'pino';
import type { LmdbEventLog } from './lmdb-event-log.js';
import type { LmdbStateStore } from './lmdb-state-store.js';

export interface LogTruncationOptions {
  readonly log: LmdbEventLog;
  readonly state: LmdbStateStore;
  readonly logger: Pick<Logger, 'warn'>;
  /** How often applied records are dropped (default 2 s). */
  readonly intervalMs?: number;
}

/**
 * Drops the records of the embedded log that the state already reflects, so the log holds
 * only what is not applied yet. Often and in small steps: one truncation is one write
 * transaction on the log and appends queue behind it, so dropping 30 s of records at once
 * stalled ingest for a quarter second.
 */
export class LogTruncation {
  private readonly appliedOffsets = new Map<number, number>();
  private readonly truncatedBefore = new Map<number, number>();
  private running = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: LogTruncationOptions) {
    this.timer = setInterval(() => this.truncate(), options.intervalMs ?? 2_000);
    this.timer.unref();
  }

  /** The reducer of `partition` committed everything up to `lastOffset`. */
  applied(partition: number, lastOffset: number): void {
    this.appliedOffsets.set(partition, lastOffset);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private truncate(): void {
    const { log, state, logger } = this.options;
    const due = [...this.appliedOffsets].filter(([partition, offset]) => offset + 1 > (this.truncatedBefore.get(partition) ?? 0));
    if (this.running || due.length === 0) return;
    this.running = true;
    // State commits reach the disk after they are applied; records are dropped only once the
    // state that reflects them is durable, or a crash could leave neither.
    state
      .flushed()
      .then(() =>
        Promise.all(
          due.map(([partition, offset]) =>
            log.truncateBefore(partition, offset + 1).then(
              () => this.truncatedBefore.set(partition, offset + 1),
              (error: unknown) => logger.warn({ err: error, partition }, 'log truncation failed'),
            ),
          ),
        ),
      )
      .catch((error: unknown) => logger.warn({ err: error }, 'state flush before log truncation failed'))
      .finally(() => {
        this.running = false;
      });
  }
}
