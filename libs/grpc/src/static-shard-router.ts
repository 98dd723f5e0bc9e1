import { partitionsOfShard } from '@flux/domain';
import type { StateServiceClient } from './generated/flux/v1/state.js';
import { closeShardClients, createShardClients, type ShardClientOptions } from './shard-clients.js';
import type { ShardRouter, ShardTarget } from './shard-router.js';

export interface StaticShardRouterOptions {
  /** One client per shard; index = shard. */
  readonly shards: readonly StateServiceClient[];
  /** The topic's partition count: shard i of n serves the partitions p with p % n === i. */
  readonly partitionCount: number;
  /** Whether `close` closes the clients (default false: they are the caller's). */
  readonly ownsClients?: boolean;
}

/**
 * Static ownership (FLUX_REDUCER_ASSIGNMENT=static): shard i of n owns the partitions p with
 * p % n === i, for the life of the process. Refreshing changes nothing.
 */
export class StaticShardRouter implements ShardRouter {
  readonly partitionCount: number;
  readonly version = 0;
  private readonly all: readonly ShardTarget[];
  private readonly ownsClients: boolean;

  constructor(options: StaticShardRouterOptions) {
    if (options.shards.length === 0) throw new RangeError('static routing needs at least one shard');
    if (!Number.isInteger(options.partitionCount) || options.partitionCount < 1) {
      throw new RangeError(`partition count must be a positive integer, got ${options.partitionCount}`);
    }
    this.partitionCount = options.partitionCount;
    this.ownsClients = options.ownsClients ?? false;
    this.all = options.shards.map((client, shard) => ({
      shard,
      // The channel's target as grpc-js names it (`dns:host:port`): the address it was made for.
      address: client.getChannel().getTarget().replace(/^dns:/, ''),
      client,
      partitions: partitionsOfShard(shard, options.shards.length, options.partitionCount),
    }));
  }

  /** A router over new clients of `addresses` (index = shard), closed with the router. */
  static fromAddresses(addresses: readonly string[], partitionCount: number, clientOptions?: ShardClientOptions): StaticShardRouter {
    return new StaticShardRouter({ shards: createShardClients(addresses, clientOptions), partitionCount, ownsClients: true });
  }

  ownerOf(partition: number): ShardTarget | undefined {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) return undefined;
    return this.all[partition % this.all.length];
  }

  targets(): readonly ShardTarget[] {
    return this.all;
  }

  unowned(): readonly number[] {
    return [];
  }

  refresh(): Promise<void> {
    return Promise.resolve();
  }

  onChange(): () => void {
    return () => undefined;
  }

  close(): void {
    if (this.ownsClients) closeShardClients(this.all.map((target) => target.client));
  }
}
