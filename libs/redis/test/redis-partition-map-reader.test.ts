import type { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeWithRedis } from '@flux/core/testing';
import { RedisPartitionMapReader } from '../src/index.js';
import { connect, deleteKeysWithPrefix, uniquePrefix } from './support.js';

describeWithRedis('RedisPartitionMapReader', (url) => {
  let prefix: string;
  let client: Redis;

  beforeEach(async () => {
    prefix = uniquePrefix();
    client = await connect(url);
  });

  afterEach(async () => {
    await deleteKeysWithPrefix(client, prefix);
    await client.quit();
  });

  it('reads the owners reducers published, in partition order, skipping entries it cannot read', async () => {
    const reader = new RedisPartitionMapReader({ client, keyPrefix: prefix });
    expect(await reader.partitionMap()).toEqual([]);
    await client.hset(`${prefix}{flux-reducers}:map`, {
      '3': JSON.stringify({ memberId: 'reducer-b', address: '10.0.0.2:50051', epoch: 7 }),
      '0': JSON.stringify({ memberId: 'reducer-a', address: '10.0.0.1:50051', epoch: 2 }),
      '1': 'not json',
      '2': JSON.stringify({ memberId: 'reducer-a', address: '10.0.0.1:50051', epoch: 'x' }),
      x: JSON.stringify({ memberId: 'reducer-a', address: '10.0.0.1:50051', epoch: 1 }),
    });
    expect(await reader.partitionMap()).toEqual([
      { partition: 0, memberId: 'reducer-a', address: '10.0.0.1:50051', epoch: 2 },
      { partition: 3, memberId: 'reducer-b', address: '10.0.0.2:50051', epoch: 7 },
    ]);
    // Another deployment's map is not this one's.
    expect(await new RedisPartitionMapReader({ client, keyPrefix: `${prefix}other:` }).partitionMap()).toEqual([]);
  });
});
