import type { Logger } from 'pino';
import type { ChangeFeed } from '../ports/change-feed.js';
import type { EventLog } from '../ports/event-log.js';
import type { PartitionStateWriter } from '../ports/state-store.js';
import { PartitionReducer } from './partition-reducer.js';

export interface ReducerGroupOptions {
  readonly partitions: readonly number[];
  readonly log: EventLog;
  readonly store: PartitionStateWriter;
  readonly feed: ChangeFeed;
  readonly logger: Logger;
  readonly maxBatch?: number;
  readonly onCommitted?: (partition: number, lastOffset: number, events: number) => void;
  /**
   * Called when a reducer stops on its own (fenced, or its store failed). The partition then
   * applies nothing more, so the owner should restart the process or hand the partition over.
   */
  readonly onFailure?: (partition: number, error: unknown) => void;
}

/** The reducers of a set of partitions, started together; recovered once each has caught up with the log. */
export class ReducerGroup {
  private readonly reducers: PartitionReducer[];
  private recoveredFlag = false;

  constructor(private readonly options: ReducerGroupOptions) {
    this.reducers = options.partitions.map(
      (partition) =>
        new PartitionReducer({
          partition,
          log: options.log,
          store: options.store,
          feed: options.feed,
          logger: options.logger,
          ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
          ...(options.onCommitted === undefined ? {} : { onCommitted: options.onCommitted }),
        }),
    );
  }

  get recovered(): boolean {
    return this.recoveredFlag;
  }

  /** Starts every reducer; resolves once each has applied what the log held when it started. */
  async start(): Promise<void> {
    await Promise.all(this.reducers.map((reducer) => reducer.start()));
    for (const reducer of this.reducers) {
      reducer.done.catch((error: unknown) => this.options.onFailure?.(reducer.partition, error));
    }
    await Promise.all(
      this.reducers.map(async (reducer) => reducer.waitForOffset((await this.options.log.endOffset(reducer.partition)) - 1)),
    );
    this.recoveredFlag = true;
  }

  /** Resolves once every partition has applied up to the given offsets (used after appends). */
  async waitFor(positions: readonly { partition: number; offset: number }[]): Promise<void> {
    await Promise.all(
      positions.map((position) => {
        const reducer = this.reducers.find((candidate) => candidate.partition === position.partition);
        return reducer === undefined ? Promise.resolve() : reducer.waitForOffset(position.offset);
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.reducers.map((reducer) => reducer.stop()));
  }
}
