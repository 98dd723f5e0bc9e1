import type { PartitionMapReader, ReducerAssignment } from '@flux/core';
import type { GrpcLogger } from './logger.js';
import { PartitionMapRouter } from './partition-map-router.js';
import type { ShardClientOptions } from './shard-clients.js';
import type { ShardRouter } from './shard-router.js';
import { StaticShardRouter } from './static-shard-router.js';

export interface ShardRouterSettings {
  /** FLUX_REDUCER_ASSIGNMENT. */
  readonly assignment: ReducerAssignment;
  /** FLUX_SHARD_ADDRESSES (static assignment; index = shard). */
  readonly addresses: readonly string[];
  /** Where elastic reducers publish the partition map (elastic assignment). */
  readonly map: PartitionMapReader;
  readonly partitionCount: number;
  readonly clients?: ShardClientOptions;
  readonly logger?: GrpcLogger;
}

/** A gateway's router for the configured reducer assignment; it owns its clients (`close` them with it). */
export function createShardRouter(settings: ShardRouterSettings): ShardRouter {
  const { partitionCount, clients } = settings;
  if (settings.assignment === 'static') return StaticShardRouter.fromAddresses(settings.addresses, partitionCount, clients);
  return new PartitionMapRouter({ map: settings.map, partitionCount, clients, logger: settings.logger });
}
