import type { RedisConnectionSettings } from '@flux/core';
import {
  describeChangeReplayContract,
  describeControlStoreContract,
  describePollLeaseContract,
  describeRateLimiterContract,
  describeStateStoreContract,
  type ContractFixture,
} from '@flux/core/testing';
import { connectRedis, RedisControlStore, RedisPollLease, RedisRateLimiter, RedisStateStore, type RedisClient } from '../src/index.js';
import { deleteRedisKeys, uniquePrefix } from './support.js';

/** More partitions than the suite claims (it uses 0 to 5), so every list and count spans several. */
const PARTITIONS = 8;

/**
 * The port contract suites over the Redis adapters, against the Redis `target` names (read
 * when a fixture opens, so a suite can start its server in beforeAll): a standalone server,
 * one over TLS with an ACL user, or a Redis Cluster.
 */
export function describeRedisPortSuites(target: () => RedisConnectionSettings): void {
  const connect = (): Promise<RedisClient> => connectRedis(target(), { connectionName: 'flux-redis-tests' });

  describeStateStoreContract('RedisStateStore', async () => {
    const keyPrefix = uniquePrefix();
    return {
      // Each open is a new client on the same prefix: a reopen is a restart.
      open: async () => new RedisStateStore({ client: await connect(), ownsClient: true, partitionCount: PARTITIONS, keyPrefix }),
      dispose: async () => {
        await deleteRedisKeys(target(), keyPrefix);
      },
    };
  });

  describeChangeReplayContract('RedisStateStore', async (changeRetentionOffsets) => {
    const keyPrefix = uniquePrefix();
    return {
      open: async () =>
        new RedisStateStore({ client: await connect(), ownsClient: true, partitionCount: PARTITIONS, keyPrefix, changeRetentionOffsets }),
      dispose: async () => {
        await deleteRedisKeys(target(), keyPrefix);
      },
    };
  });

  describeControlStoreContract('RedisControlStore', async () => {
    const keyPrefix = uniquePrefix();
    return {
      open: async () => RedisControlStore.open({ client: await connect(), ownsClient: true, keyPrefix, onListenerError: () => undefined }),
      dispose: async () => {
        await deleteRedisKeys(target(), keyPrefix);
      },
    };
  });

  /**
   * Adapters that share state only through Redis: every open is a new client on the fixture's
   * prefix, as two gateways of one deployment would be.
   */
  const sharedThroughRedis =
    <T>(make: (client: RedisClient, keyPrefix: string) => T) =>
    async (): Promise<ContractFixture<T>> => {
      const keyPrefix = uniquePrefix();
      const clients: RedisClient[] = [];
      return {
        open: async () => {
          const client = await connect();
          clients.push(client);
          return make(client, keyPrefix);
        },
        dispose: async () => {
          await Promise.all(clients.map((client) => client.quit()));
          await deleteRedisKeys(target(), keyPrefix);
        },
      };
    };

  describeRateLimiterContract(
    'RedisRateLimiter',
    sharedThroughRedis((client, keyPrefix) => new RedisRateLimiter({ client, keyPrefix })),
  );
  describePollLeaseContract(
    'RedisPollLease',
    sharedThroughRedis((client, keyPrefix) => new RedisPollLease({ client, keyPrefix })),
  );
}
