import type { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeWithRedis, waitFor } from '@flux/core/testing';
import { RedisReducerRegistry } from '../src/index.js';
import { connect, deleteKeysWithPrefix, uniquePrefix } from './support.js';

describeWithRedis('RedisReducerRegistry', (url) => {
  let prefix: string;
  let client: Redis;
  let registry: RedisReducerRegistry;

  beforeEach(async () => {
    prefix = uniquePrefix();
    client = await connect(url);
    registry = new RedisReducerRegistry({ client, keyPrefix: prefix });
  });

  afterEach(async () => {
    await deleteKeysWithPrefix(client, prefix);
    await client.quit();
  });

  const a = { id: 'reducer-a', address: '10.0.0.1:50051' };
  const b = { id: 'reducer-b', address: '10.0.0.2:50051' };

  it('answers the live members in id order, and says whether a member’s lease ran on', async () => {
    const first = await registry.heartbeat(b, 5_000);
    expect(first).toEqual({ members: [b], continuous: false });
    const second = await registry.heartbeat(a, 5_000);
    expect(second).toEqual({ members: [a, b], continuous: false });
    expect(await registry.heartbeat(b, 5_000)).toEqual({ members: [a, b], continuous: true });
  });

  it('drops a member whose lease ran out, and tells it so when it beats again', async () => {
    await registry.heartbeat(a, 5_000);
    await registry.heartbeat(b, 100);
    await waitFor(async () => (await registry.heartbeat(a, 5_000)).members.length === 1, { timeoutMs: 5_000, what: 'b’s lease to run out' });
    expect((await registry.heartbeat(a, 5_000)).members).toEqual([a]);
    // A paused member that wakes learns its lease ran out: it may have been replaced.
    expect(await registry.heartbeat(b, 5_000)).toEqual({ members: [a, b], continuous: false });
  });

  it('forgets a member that leaves at once', async () => {
    await registry.heartbeat(a, 5_000);
    await registry.heartbeat(b, 5_000);
    await registry.leave(b.id);
    expect((await registry.heartbeat(a, 5_000)).members).toEqual([a]);
  });

  it('keeps the newest claim of each partition in the map', async () => {
    expect(await registry.publishOwner({ partition: 3, memberId: a.id, address: a.address, epoch: 4 })).toBe(true);
    expect(await registry.publishOwner({ partition: 1, memberId: b.id, address: b.address, epoch: 1 })).toBe(true);
    // A stale owner (older epoch) cannot take the entry back.
    expect(await registry.publishOwner({ partition: 3, memberId: b.id, address: b.address, epoch: 3 })).toBe(false);
    expect(await registry.partitionMap()).toEqual([
      { partition: 1, memberId: b.id, address: b.address, epoch: 1 },
      { partition: 3, memberId: a.id, address: a.address, epoch: 4 },
    ]);
    expect(await registry.publishOwner({ partition: 3, memberId: b.id, address: b.address, epoch: 5 })).toBe(true);
    expect((await registry.partitionMap())[1]).toEqual({ partition: 3, memberId: b.id, address: b.address, epoch: 5 });
  });

  it('releases an entry only for the claim that holds it', async () => {
    await registry.publishOwner({ partition: 2, memberId: a.id, address: a.address, epoch: 7 });
    await registry.releaseOwner(2, a.id, 6); // an older claim of the same member
    await registry.releaseOwner(2, b.id, 7); // another member
    expect(await registry.partitionMap()).toHaveLength(1);
    await registry.releaseOwner(2, a.id, 7);
    expect(await registry.partitionMap()).toEqual([]);
  });

  it('skips map entries it cannot read instead of failing every route', async () => {
    await registry.publishOwner({ partition: 0, memberId: a.id, address: a.address, epoch: 1 });
    await client.hset(`${prefix}{flux-reducers}:map`, '1', 'not json', 'x', '{"memberId":"m","address":"h:1","epoch":1}');
    expect(await registry.partitionMap()).toEqual([{ partition: 0, memberId: a.id, address: a.address, epoch: 1 }]);
  });
});
