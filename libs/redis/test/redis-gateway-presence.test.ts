import type { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeWithRedis } from '@flux/core/testing';
import { RedisGatewayPresence } from '../src/index.js';
import { connect, deleteKeysWithPrefix, uniquePrefix } from './support.js';

describeWithRedis('RedisGatewayPresence', (url) => {
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

  it('sums the latest report of every gateway, and drops a gateway that closes', async () => {
    const [one, two, three] = [0, 1, 2].map(() => new RedisGatewayPresence({ client, keyPrefix: prefix }));
    expect(await one!.total(2)).toBe(2);
    expect(await two!.total(3)).toBe(5);
    expect(await three!.total(0)).toBe(5);
    expect(await one!.total(7)).toBe(10); // a new report replaces the gateway's last one
    await two!.close();
    expect(await three!.total(1)).toBe(8);
    expect(await two!.total(50)).toBe(50); // closed: local only, nothing reported
    expect(await one!.total(7)).toBe(8);
  });

  it('forgets a gateway that stopped reporting once its report expired', async () => {
    const vanished = new RedisGatewayPresence({ client, keyPrefix: prefix, ttlMs: 150 });
    const alive = new RedisGatewayPresence({ client, keyPrefix: prefix, ttlMs: 150 });
    expect(await vanished.total(4)).toBe(4);
    expect(await alive.total(1)).toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await alive.total(1)).toBe(1);
  });

  it('falls back to the local count when Redis cannot answer', async () => {
    const lost = await connect(url);
    const presence = new RedisGatewayPresence({ client: lost, keyPrefix: prefix });
    await lost.quit();
    expect(await presence.total(3)).toBe(3);
  });
});
