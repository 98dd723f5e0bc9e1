import type { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeWithRedis, waitFor } from '@flux/core/testing';
import { RedisPollLease } from '../src/index.js';
import { connect, deleteKeysWithPrefix, uniquePrefix } from './support.js';

describeWithRedis('RedisPollLease', (url) => {
  let prefix: string;
  let client: Redis;
  let lease: RedisPollLease;

  beforeEach(async () => {
    prefix = uniquePrefix();
    client = await connect(url);
    lease = new RedisPollLease({ client, keyPrefix: prefix });
  });

  afterEach(async () => {
    await deleteKeysWithPrefix(client, prefix);
    await client.quit();
  });

  it('gives a credential to one holder at a time', async () => {
    expect(await lease.acquire('github:ns', 'gateway-a', 30_000)).toBe(true);
    expect(await lease.acquire('github:ns', 'gateway-b', 30_000)).toBe(false);
    expect(await lease.acquire('github:ns', 'gateway-a', 30_000)).toBe(true); // the holder extends its own
    expect(await lease.acquire('github:other', 'gateway-b', 30_000)).toBe(true); // other credentials are independent
  });

  it('renews and releases only for the holder', async () => {
    await lease.acquire('github:ns', 'gateway-a', 30_000);
    expect(await lease.renew('github:ns', 'gateway-b', 30_000)).toBe(false);
    await lease.release('github:ns', 'gateway-b');
    expect(await lease.acquire('github:ns', 'gateway-b', 30_000)).toBe(false);
    expect(await lease.renew('github:ns', 'gateway-a', 30_000)).toBe(true);
    await lease.release('github:ns', 'gateway-a');
    expect(await lease.acquire('github:ns', 'gateway-b', 30_000)).toBe(true);
  });

  it('lets another holder take over once a dead holder’s lease expired', async () => {
    expect(await lease.acquire('github:ns', 'dead', 200)).toBe(true);
    expect(await lease.acquire('github:ns', 'successor', 30_000)).toBe(false);
    await waitFor(() => lease.acquire('github:ns', 'successor', 30_000), { timeoutMs: 5_000, what: 'the expired lease to be taken over' });
    expect(await lease.renew('github:ns', 'dead', 200)).toBe(false);
  });
});
