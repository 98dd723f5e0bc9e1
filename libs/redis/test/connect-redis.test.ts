import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@flux/domain';
import { describeWithRedis } from '@flux/core/testing';
import { connectRedis, RedisStateStore } from '../src/index.js';

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('connectRedis', () => {
  it('rejects when Redis does not become ready in time, naming the cause', async () => {
    const port = await closedPort();
    await expect(connectRedis(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 300 })).rejects.toThrow(/not ready after 300 ms.*ECONNREFUSED/);
  });
});

describeWithRedis('connectRedis (with Redis)', (url) => {
  it('resolves a ready client with auto-pipelining and bounded retries', async () => {
    const client = await connectRedis(url);
    try {
      expect(client.status).toBe('ready');
      expect(client.options.enableAutoPipelining).toBe(true);
      expect(client.options.maxRetriesPerRequest).toBe(3);
      expect(await client.ping()).toBe('PONG');
    } finally {
      await client.quit();
    }
  });

  it('reports a lost connection as FLUX_STORE_UNAVAILABLE (503), not as an internal error', async () => {
    const client = await connectRedis(url);
    const store = new RedisStateStore({ client, partitionCount: 2, keyPrefix: 'flux-test:unavailable:' });
    await client.quit();
    await expect(store.getEntity('a')).rejects.toMatchObject({ code: ErrorCode.StoreUnavailable });
    await expect(store.counts()).rejects.toMatchObject({ code: ErrorCode.StoreUnavailable });
  });
});
