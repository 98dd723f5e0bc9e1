import type { Redis } from 'ioredis';
import { connectRedis } from './connect-redis.js';
import { globEscape } from './redis-keys.js';

/**
 * Deletes every key under `prefix` with SCAN and UNLINK (no KEYS, which would block a shared
 * server) and resolves with how many were deleted. Meant for tests and tooling, never the
 * pipeline: a deployment's keys all start with its FLUX_REDIS_KEY_PREFIX.
 */
export async function deleteKeysWithPrefix(client: Redis, prefix: string): Promise<number> {
  if (prefix === '') throw new RangeError('refusing to delete every key: the prefix is empty');
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await client.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** deleteKeysWithPrefix over a short-lived connection of its own. */
export async function deleteRedisKeys(url: string, prefix: string): Promise<number> {
  const client = await connectRedis(url, { connectionName: 'flux-cleanup' });
  try {
    return await deleteKeysWithPrefix(client, prefix);
  } finally {
    await client.quit();
  }
}
