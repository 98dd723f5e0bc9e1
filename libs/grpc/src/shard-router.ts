import type { StateServiceClient } from './generated/flux/v1/state.js';

/** A reducer shard a gateway reads from, and the partitions it serves now. */
export interface ShardTarget {
  /**
   * Names the target in logs and metrics: the shard index (static routing) or the reducer's
   * address (partition map). Stable while the target serves anything.
   */
  readonly shard: number | string;
  /** `host:port` of its gRPC server. */
  readonly address: string;
  readonly client: StateServiceClient;
  /** The partitions it serves, ascending (static routing: possibly none). */
  readonly partitions: readonly number[];
}

/**
 * Where a gateway sends each partition's reads and watches: the owner of every partition, as
 * far as the gateway knows. The knowledge may be stale (a partition moved since): a shard asked
 * about a partition it does not own answers as misrouted, and the caller `refresh`es and asks
 * again.
 */
export interface ShardRouter {
  /** The topic's partition count. */
  readonly partitionCount: number;
  /** The target serving `partition`, or undefined while it has no owner (being handed over). */
  ownerOf(partition: number): ShardTarget | undefined;
  /** Every current target, each with its partitions (in shard order, or by address). */
  targets(): readonly ShardTarget[];
  /** Partitions without an owner now, ascending. */
  unowned(): readonly number[];
  /**
   * Counts routing changes: unchanged after a `refresh` means routing is still what it was
   * (asking again would reach the same shard).
   */
  readonly version: number;
  /**
   * Reads the ownership again now (a read that starts after this call); concurrent calls share
   * one read. Never rejects: when the read fails, routing stays as it was.
   */
  refresh(): Promise<void>;
  /** Calls `listener` after every routing change (targets or their partitions). */
  onChange(listener: () => void): () => void;
  /** Stops following the ownership and closes the clients the router created. */
  close(): void;
}

/** How logs and errors name a target: `shard 2 (host:port)`, or the address alone. */
export const describeTarget = (target: Pick<ShardTarget, 'shard' | 'address'>): string =>
  target.shard === target.address ? target.address : `shard ${target.shard} (${target.address})`;
