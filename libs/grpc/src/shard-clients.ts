import { credentials as grpcCredentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { StateServiceClient } from './generated/flux/v1/state.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './state-service-server.js';

export interface ShardClientOptions {
  /** Default: insecure (plaintext inside the cluster network). */
  readonly credentials?: ChannelCredentials;
  /** Extra grpc-js channel options; they override the defaults below. */
  readonly channelOptions?: ChannelOptions;
  /** Largest message accepted from a shard (default 64 MiB, as the server sends). */
  readonly maxMessageBytes?: number;
}

/**
 * One StateService client per shard address (index = shard). The channels reconnect within a
 * second of a shard coming back (grpc-js would otherwise back off up to two minutes; attempts
 * to a few shard addresses cost nothing), and keepalive pings detect a silently dropped
 * connection under a long Watch stream.
 */
export function createShardClients(addresses: readonly string[], options: ShardClientOptions = {}): StateServiceClient[] {
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const channelOptions: ChannelOptions = {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1_000,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    ...options.channelOptions,
  };
  const credentials = options.credentials ?? grpcCredentials.createInsecure();
  return addresses.map((address) => new StateServiceClient(address, credentials, channelOptions));
}

/** Closes every client's channel (in-flight calls fail with CANCELLED/UNAVAILABLE). */
export function closeShardClients(clients: readonly StateServiceClient[]): void {
  for (const client of clients) client.close();
}
