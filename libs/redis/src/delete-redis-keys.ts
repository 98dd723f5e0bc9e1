import { Cluster, type Redis } from 'ioredis';
import type { RedisConnectionSettings } from '@flux/core';
import { connectRedis } from './connect-redis.js';
import type { RedisClient } from './lua-script.js';
import { globEscape } from './redis-keys.js';

/**
 * Deletes every key under `prefix` with SCAN and UNLINK (no KEYS, which would block a shared
 * server) and resolves with how many were deleted. Meant for tests and tooling, never the
 * pipeline: a deployment's keys all start with its FLUX_REDIS_KEY_PREFIX.
 */
export async function deleteKeysWithPrefix(client: RedisClient, prefix: string): Promise<number> {
  if (prefix === '') throw new RangeError('refusing to delete every key: the prefix is empty');
  // A cluster's keys are spread over its masters: each is scanned on its own.
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const counts = await Promise.all(nodes.map((node) => deleteOnNode(node, prefix)));
  return counts.reduce((sum, count) => sum + count, 0);
}

async function deleteOnNode(client: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1000);
    cursor = next;
    // One UNLINK per key: the keys of one scan page may lie in different slots.
    if (keys.length > 0) deleted += (await Promise.all(keys.map((key) => client.unlink(key)))).reduce((sum, n) => sum + n, 0);
  } while (cursor !== '0');
  return deleted;
}

/** deleteKeysWithPrefix over a short-lived connection of its own. */
export async function deleteRedisKeys(target: string | RedisConnectionSettings, prefix: string): Promise<number> {
  const client = await connectRedis(target, { connectionName: 'flux-cleanup' });
  try {
    return await deleteKeysWithPrefix(client, prefix);
  } finally {
    await client.quit();
  }
}
