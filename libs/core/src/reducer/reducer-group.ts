import { consumerLag, type PartitionLag } from './consumer-lag.js';
import { EntityWorkingSet } from './entity-working-set.js';
import { PartitionReducer, type PartitionReducerOptions } from './partition-reducer.js';

export interface ReducerGroupOptions extends Omit<PartitionReducerOptions, 'partition'> {
  readonly partitions: readonly number[];
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
    const { partitions, onFailure: _onFailure, ...shared } = options;
    // One working set for the process: its byte bound holds over all partitions.
    const workingSet = options.workingSet ?? new EntityWorkingSet();
    this.reducers = partitions.map((partition) => new PartitionReducer({ ...shared, workingSet, partition }));
  }

  get recovered(): boolean {
    return this.recoveredFlag;
  }

  /** Partitions whose reducer applies under its claim now. */
  get partitionsOwned(): number {
    return this.reducers.filter((reducer) => reducer.running).length;
  }

  /** The partitions applied here now, ascending. */
  ownedPartitions(): number[] {
    return this.reducers
      .filter((reducer) => reducer.running)
      .map((reducer) => reducer.partition)
      .sort((a, b) => a - b);
  }

  owns(partition: number): boolean {
    return this.reducers.some((reducer) => reducer.partition === partition && reducer.running);
  }

  /** The lag of every partition this group owns now (see consumerLag). */
  async lag(): Promise<readonly PartitionLag[]> {
    return Promise.all(
      this.reducers
        .filter((reducer) => reducer.running)
        .map(async (reducer) => {
          // Read before the end offset, so a record applied meanwhile cannot make it negative.
          const applied = reducer.appliedOffset;
          return { partition: reducer.partition, records: consumerLag(await this.options.log.endOffset(reducer.partition), applied) };
        }),
    );
  }

  /** Starts every reducer; resolves once each has applied what the log held when it started. */
  async start(): Promise<void> {
    await Promise.all(this.reducers.map((reducer) => reducer.start()));
    for (const reducer of this.reducers) {
      reducer.done.catch((error: unknown) => this.options.onFailure?.(reducer.partition, error));
    }
    await Promise.all(this.reducers.map(async (reducer) => reducer.waitForOffset((await this.options.log.endOffset(reducer.partition)) - 1)));
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
