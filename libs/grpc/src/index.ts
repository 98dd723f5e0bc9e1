/**
 * The gRPC side of the distributed topology: reducer shards serve the state and change feed
 * of their partitions (`createStateServiceServer`); gateways read through `ShardedStateReader`
 * and `GrpcChangeFeed`, routed by a `ShardRouter` (static shard list, or the partition map of
 * elastic reducers).
 */
export * from './logger.js';
export * from './status.js';
export * from './codec.js';
export * from './health.js';
export * from './shard-addresses.js';
export * from './shard-clients.js';
export * from './partition-ownership.js';
export * from './shard-router.js';
export * from './static-shard-router.js';
export * from './partition-map-router.js';
export * from './create-shard-router.js';
export * from './routing-options.js';
export * from './state-service-server.js';
export * from './sharded-state-reader.js';
export * from './grpc-change-feed.js';
export {
  StateServiceClient,
  StateServiceService,
  type StateServiceServer,
  type WatchResponse,
  type ChangeRecord as ProtoChangeRecord,
  type Entity as ProtoEntity,
} from './generated/flux/v1/state.js';
export { HealthClient, HealthService } from './generated/grpc/health/v1/health.js';
