import type { PartitionMapReader, PartitionOwner } from '@flux/core';
import { deferred, type Deferred } from '@flux/core/testing';

/** A partition map held in an array: what a test says the elastic reducers published. */
export class ArrayPartitionMap implements PartitionMapReader {
  entries: PartitionOwner[] = [];
  /** Reads started so far. */
  reads = 0;
  /** When set, reads fail with it. */
  failure: Error | undefined;
  /** When set, each read waits for it (and answers what `entries` held when the read started). */
  gate: Deferred<void> | undefined;

  constructor(entries: readonly PartitionOwner[] = []) {
    this.entries = [...entries];
  }

  /** Sets the owner of `partitions` (replacing their entries). */
  assign(address: string, epoch: number, ...partitions: number[]): void {
    this.entries = [
      ...this.entries.filter((entry) => !partitions.includes(entry.partition)),
      ...partitions.map((partition) => ({ partition, memberId: `member@${address}`, address, epoch })),
    ];
  }

  /** Removes the entries of `partitions` (being handed over). */
  release(...partitions: number[]): void {
    this.entries = this.entries.filter((entry) => !partitions.includes(entry.partition));
  }

  /** Holds the next reads until `open()`. */
  hold(): { open(): void } {
    const gate = deferred();
    this.gate = gate;
    return {
      open: () => {
        if (this.gate === gate) this.gate = undefined;
        gate.resolve();
      },
    };
  }

  async partitionMap(): Promise<readonly PartitionOwner[]> {
    this.reads += 1;
    const answer = [...this.entries].sort((a, b) => a.partition - b.partition);
    if (this.gate !== undefined) await this.gate.promise;
    if (this.failure !== undefined) throw this.failure;
    return answer;
  }
}
