import type { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeWithRedis } from '@flux/core/testing';
import { RedisPeerRegistry } from '../src/index.js';
import { connect, deleteKeysWithPrefix, uniquePrefix } from './support.js';

describeWithRedis('RedisPeerRegistry', (url) => {
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

  it('finds what each instance registered, and forgets an instance that closes', async () => {
    const [one, two] = [0, 1].map(() => new RedisPeerRegistry({ client, keyPrefix: prefix }));
    await one!.register('gateway-a', 'http://10.0.0.1:3000');
    await two!.register('gateway-b', 'http://10.0.0.2:3000');
    expect(await two!.lookup('gateway-a')).toBe('http://10.0.0.1:3000');
    expect(await one!.lookup('gateway-b')).toBe('http://10.0.0.2:3000');
    expect(await one!.lookup('gateway-c')).toBeUndefined();
    await one!.close();
    expect(await two!.lookup('gateway-a')).toBeUndefined();
    await two!.close();
  });

  it('keeps a registration alive past its TTL while the process runs; one no longer renewed expires', async () => {
    const alive = new RedisPeerRegistry({ client, keyPrefix: prefix, ttlMs: 300 });
    await alive.register('gateway-a', 'http://10.0.0.1:3000');
    // A process that stops renewing without closing (killed) is simulated by a lost connection.
    const lost = await connect(url);
    const vanished = new RedisPeerRegistry({ client: lost, keyPrefix: prefix, ttlMs: 300 });
    await vanished.register('gateway-b', 'http://10.0.0.2:3000');
    lost.disconnect();
    // Past several TTLs: the first is still there (renewed every 100 ms), the second is gone.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await alive.lookup('gateway-a')).toBe('http://10.0.0.1:3000');
    expect(await alive.lookup('gateway-b')).toBeUndefined();
    await Promise.all([alive.close(), vanished.close()]);
  });
});
