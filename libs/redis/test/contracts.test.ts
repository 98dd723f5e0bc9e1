import { describeControlStoreContract, describeRateLimiterContract, describeStateStoreContract, describeWithRedis } from '@flux/core/testing';
import { RedisControlStore, RedisRateLimiter, RedisStateStore } from '../src/index.js';
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

  describeControlStoreContract('RedisControlStore', async () => {
    const keyPrefix = uniquePrefix();
    return {
      open: async () => RedisControlStore.open({ client: await connect(url), ownsClient: true, keyPrefix, onListenerError: () => undefined }),
      dispose: async () => {
        await deleteRedisKeys(url, keyPrefix);
      },
    };
  });

  describeRateLimiterContract('RedisRateLimiter', async () => {
    const keyPrefix = uniquePrefix();
    const clients: Awaited<ReturnType<typeof connect>>[] = [];
    return {
      // A new client per open: instances share buckets only through Redis.
      open: async () => {
        const client = await connect(url);
        clients.push(client);
        return new RedisRateLimiter({ client, keyPrefix });
      },
      dispose: async () => {
        await Promise.all(clients.map((client) => client.quit()));
        await deleteRedisKeys(url, keyPrefix);
      },
    };
  });
});
