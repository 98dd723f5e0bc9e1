import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClusterSettings, type RedisConnectionSettings } from '@flux/core';
import { connectRedis } from '../src/index.js';
import { describeRedisPortSuites } from './port-suites.js';
import {
  missingRedisTools,
  REDIS_USER,
  startRedisCluster,
  startRedisSentinel,
  startTlsRedis,
  type RedisClusterServers,
  type RedisSentinelServers,
  type TlsRedis,
} from './redis-servers.js';

const missing = missingRedisTools();
const suite = missing.length === 0 || process.env.CI === 'true' ? describe : describe.skip;
const skipped = missing.length === 0 ? '' : ` (skipped: ${missing.join(', ')} not found)`;
const requireTools = (): void => {
  if (missing.length > 0) throw new Error(`${missing.join(', ')} must be installed: this suite starts Redis servers of its own`);
};

/** The Redis settings a process gets from its environment, through the config parser. */
const redisFromEnv = (env: Record<string, string>): RedisConnectionSettings =>
  parseClusterSettings('reducer', { KAFKA_BROKERS: '127.0.0.1:9092', ...env }).cluster.redis;

suite(`Redis over TLS with an ACL user (a server of its own)${skipped}`, () => {
  let server: TlsRedis;
  const user = { FLUX_REDIS_USERNAME: REDIS_USER.username, FLUX_REDIS_PASSWORD: REDIS_USER.password };
  beforeAll(async () => {
    requireTools();
    server = await startTlsRedis();
  }, 60_000);
  afterAll(() => server?.stop());

  it('connects with rediss://, the CA file and the ACL user, credentials in variables or in the URL', async () => {
    for (const env of [
      { REDIS_URL: server.url, FLUX_REDIS_TLS_CA_FILE: server.pki.caFile, ...user },
      {
        REDIS_URL: server.url.replace('rediss://', `rediss://${REDIS_USER.username}:${REDIS_USER.password}@`),
        FLUX_REDIS_TLS_CA_FILE: server.pki.caFile,
      },
    ]) {
      const client = await connectRedis(redisFromEnv(env));
      try {
        expect(await client.call('ACL', 'WHOAMI')).toBe(REDIS_USER.username);
      } finally {
        await client.quit();
      }
    }
  });

  it('fails start-up naming the cause: a wrong password, or a server the CA did not sign', async () => {
    const wrong = redisFromEnv({ REDIS_URL: server.url, FLUX_REDIS_TLS_CA_FILE: server.pki.caFile, ...user, FLUX_REDIS_PASSWORD: 'wrong' });
    await expect(connectRedis(wrong, { connectTimeoutMs: 2_000 })).rejects.toThrow(/WRONGPASS/);
    // Without the CA, the system's trusted CAs do not know the test CA.
    const untrusted = redisFromEnv({ REDIS_URL: server.url, ...user });
    await expect(connectRedis(untrusted, { connectTimeoutMs: 2_000 })).rejects.toThrow(/certificate/);
  });

  describeRedisPortSuites(() => redisFromEnv({ REDIS_URL: server.url, FLUX_REDIS_TLS_CA_FILE: server.pki.caFile, ...user }));
});

suite(`Redis Cluster: three masters of its own${skipped}`, () => {
  let cluster: RedisClusterServers;
  beforeAll(async () => {
    requireTools();
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(() => cluster?.stop());

  it('opens an ioredis Cluster client that learned all three masters', async () => {
    const client = await connectRedis(redisFromEnv({ REDIS_URL: cluster.url, FLUX_REDIS_CLUSTER: 'true' }));
    try {
      expect(client).toBeInstanceOf(Cluster);
      const masters = client instanceof Cluster ? client.nodes('master').map((node) => node.options.port) : [];
      expect(masters.sort()).toEqual([...cluster.ports].sort());
    } finally {
      await client.quit();
    }
  });

  describeRedisPortSuites(() => redisFromEnv({ REDIS_URL: cluster.url, FLUX_REDIS_CLUSTER: 'true' }));
});

suite(`Redis behind a Sentinel of its own${skipped}`, () => {
  let servers: RedisSentinelServers;
  beforeAll(async () => {
    requireTools();
    servers = await startRedisSentinel();
  }, 60_000);
  afterAll(() => servers?.stop());

  it('asks the sentinel for the master and talks to it', async () => {
    const client = await connectRedis(redisFromEnv({ REDIS_URL: servers.url, FLUX_REDIS_SENTINEL_MASTER: servers.master }));
    try {
      expect(client).not.toBeInstanceOf(Cluster);
      expect(await client.call('CONFIG', 'GET', 'port')).toEqual(['port', String(servers.masterPort)]);
    } finally {
      await client.quit();
    }
  });

  describeRedisPortSuites(() => redisFromEnv({ REDIS_URL: servers.url, FLUX_REDIS_SENTINEL_MASTER: servers.master }));
});
