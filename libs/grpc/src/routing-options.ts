import type { StateServiceClient } from './generated/flux/v1/state.js';
import type { ShardRouter } from './shard-router.js';
import { StaticShardRouter } from './static-shard-router.js';

/** Where a gateway's reader or change feed routes: a router, or a static shard list. */
export type RoutingOptions =
  | {
      /** The router (never closed by its users: it is shared). */
      readonly router: ShardRouter;
    }
  | {
      /** One client per shard, index = shard (see `createShardClients`): static routing. */
      readonly shards: readonly StateServiceClient[];
      /** The topic's partition count: shard s serves the partitions p with p % shards === s. */
      readonly partitionCount: number;
    };

/** The router `options` name, or a static one over their shard list. */
export const routerOf = (options: RoutingOptions): ShardRouter =>
  'router' in options ? options.router : new StaticShardRouter({ shards: options.shards, partitionCount: options.partitionCount });
