import { partitionFor } from './partitioner.js';

/*
 * Static shard ownership: shard s of N owns every partition p with p % N === s. Reducers,
 * shard servers and gateways must all use these functions with the same partition count and
 * shard count.
 */

function assertShardCount(shardCount: number): void {
  if (!Number.isInteger(shardCount) || shardCount < 1) throw new RangeError(`shard count must be a positive integer, got ${shardCount}`);
}

/** The shard that owns `partition`. */
export function shardForPartition(partition: number, shardCount: number): number {
  assertShardCount(shardCount);
  return partition % shardCount;
}

/** The shard that owns the entity's partition. */
export const shardForEntity = (entityId: string, partitionCount: number, shardCount: number): number =>
  shardForPartition(partitionFor(entityId, partitionCount), shardCount);

/** The partitions shard `shard` of `shardCount` owns, ascending. */
export function partitionsOfShard(shard: number, shardCount: number, partitionCount: number): number[] {
  assertShardCount(shardCount);
  if (!Number.isInteger(shard) || shard < 0 || shard >= shardCount) throw new RangeError(`shard must be in 0..${shardCount - 1}, got ${shard}`);
  if (!Number.isInteger(partitionCount) || partitionCount < 1)
    throw new RangeError(`partition count must be a positive integer, got ${partitionCount}`);
  const partitions: number[] = [];
  for (let partition = shard; partition < partitionCount; partition += shardCount) partitions.push(partition);
  return partitions;
}
