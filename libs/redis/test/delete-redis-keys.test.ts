import type { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeWithRedis } from '@flux/core/testing';
import { deleteKeysWithPrefix, deleteRedisKeys } from '../src/index.js';
import { connect, uniquePrefix } from './support.js';

describeWithRedis('deleteKeysWithPrefix / deleteRedisKeys (cleanup tooling)', (url) => {
  let base: string;
  let client: Redis;

  beforeEach(async () => {
    base = uniquePrefix();
    client = await connect(url);
  });

  afterEach(async () => {
    await deleteKeysWithPrefix(client, base);
    await client.quit();
  });

  it('deletes every key under the prefix, more than one SCAN page of them, and nothing else', async () => {
    const doomed = `${base}deploy-a:`;
    const keep = `${base}deploy-ab:`;
    const pipeline = client.pipeline();
    for (let i = 0; i < 2500; i++) pipeline.set(`${doomed}{p${i % 8}}:e:${i}`, 'x');
    pipeline.set(`${keep}{p0}:e:0`, 'x');
    await pipeline.exec();

    expect(await deleteKeysWithPrefix(client, doomed)).toBe(2500);
    expect(await client.exists(`${doomed}{p0}:e:0`)).toBe(0);
    expect(await client.get(`${keep}{p0}:e:0`)).toBe('x');
  });

  it('treats glob characters in the prefix literally', async () => {
    await client.set(`${base}a*:k`, '1');
    await client.set(`${base}ab:k`, '1');
    expect(await deleteRedisKeys(url, `${base}a*:`)).toBe(1);
    expect(await client.get(`${base}ab:k`)).toBe('1');
  });

  it('refuses an empty prefix instead of emptying the server', async () => {
    await expect(deleteKeysWithPrefix(client, '')).rejects.toThrow(RangeError);
  });
});
