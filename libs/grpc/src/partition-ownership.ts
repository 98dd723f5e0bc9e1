/**
 * Which partitions a shard's gRPC server answers for. Static reducers own a fixed list; elastic
 * reducers claim and lose partitions at run time and change it as they do, so the server asks
 * at every request (and, for the change feed, at every commit).
 */
export interface PartitionOwnership {
  owns(partition: number): boolean;
  /** The partitions owned now, ascending. */
  partitions(): readonly number[];
}

/**
 * A set of owned partitions that can change: what an elastic reducer updates as it claims a
 * partition (`own`, once the claim holds and before the partition is published in the map)
 * and loses or hands one over (`disown`, before it stops applying).
 */
export class OwnedPartitions implements PartitionOwnership {
  private readonly owned = new Set<number>();
  private sorted: readonly number[] | undefined = [];

  constructor(partitions: Iterable<number> = []) {
    for (const partition of partitions) this.own(partition);
  }

  owns(partition: number): boolean {
    return this.owned.has(partition);
  }

  partitions(): readonly number[] {
    this.sorted ??= [...this.owned].sort((a, b) => a - b);
    return this.sorted;
  }

  own(partition: number): void {
    if (!Number.isInteger(partition) || partition < 0) throw new RangeError(`a partition is a non-negative integer, got ${partition}`);
    if (this.owned.has(partition)) return;
    this.owned.add(partition);
    this.sorted = undefined;
  }

  disown(partition: number): void {
    if (this.owned.delete(partition)) this.sorted = undefined;
  }
}
