import {
  describeChangeReplayContract,
  describeControlStoreContract,
  describePollLeaseContract,
  describeRateLimiterContract,
  describeStateStoreContract,
  describeWithRedis,
  type ContractFixture,
} from '@flux/core/testing';
import { RedisControlStore, RedisPollLease, RedisRateLimiter, RedisStateStore } from '../src/index.js';
import { connect, deleteRedisKeys, uniquePrefix } from './support.js';

/** More partitions than the suite claims (it uses 0 to 5), so every list and count spans several. */
const PARTITIONS = 8;

describeWithRedis('Redis adapters', (url) => {
  describeStateStoreContract('RedisStateStore', async () => {
    const keyPrefix = uniquePrefix();
    return {
      // Each open is a new client on the same prefix: a reopen is a restart.
      open: async () => new RedisStateStore({ client: await connect(url), ownsClient: true, partitionCount: PARTITIONS, keyPrefix }),
      dispose: async () => {
        await deleteRedisKeys(url, keyPrefix);
      },
    };
  });

  describeChangeReplayContract('RedisStateStore', async (changeRetentionOffsets) => {
    const keyPrefix = uniquePrefix();
    return {
      open: async () =>
        new RedisStateStore({ client: await connect(url), ownsClient: true, partitionCount: PARTITIONS, keyPrefix, changeRetentionOffsets }),
      dispose: async () => {
        await deleteRedisKeys(url, keyPrefix);
      },
    };
  });

  describeControlStoreContract('RedisControlStore', async () => {
    const keyPrefix = uniquePrefix();
    return {
      open: async () => RedisControlStore.open({ client: await connect(url), ownsClient: true, keyPrefix, onListenerError: () => undefined }),
      dispose: async () => {
        await deleteRedisKeys(url, keyPrefix);
      },
    };
  });

  /**
   * Adapters that share state only through Redis: every open is a new client on the fixture's
   * prefix, as two gateways of one deployment would be.
   */
  const sharedThroughRedis =
    <T>(make: (client: Awaited<ReturnType<typeof connect>>, keyPrefix: string) => T) =>
    async (): Promise<ContractFixture<T>> => {
      const keyPrefix = uniquePrefix();
      const clients: Awaited<ReturnType<typeof connect>>[] = [];
      return {
        open: async () => {
          const client = await connect(url);
          clients.push(client);
          return make(client, keyPrefix);
        },
        dispose: async () => {
          await Promise.all(clients.map((client) => client.quit()));
          await deleteRedisKeys(url, keyPrefix);
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
});
