import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisConnectionSettings } from '@flux/core';
import type { RedisClient } from './lua-script.js';

export interface ConnectRedisOptions {
  /** Shown in CLIENT LIST, to tell gateways and reducers apart. */
  readonly connectionName?: string;
  /** Reconnect attempts a command waits through before it fails (bounded: default 3). */
  readonly maxRetriesPerRequest?: number;
  /** A command without a reply after this long fails (default 10 s). */
  readonly commandTimeoutMs?: number;
  /** How long the first connection may take before connectRedis rejects (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Any other ioredis option, applied last. */
  readonly redisOptions?: RedisOptions;
}

/**
 * Opens an ioredis client and resolves once it is ready (so a wrong URL fails start-up, not the
 * first request). Settings:
 * - auto-pipelining: concurrent calls share socket writes, which is what makes per-partition
 *   fan-out (lists, counts) and many gateways' small calls cheap;
 * - bounded retries and a command timeout: during an outage calls fail (503) instead of piling
 *   up in memory (invariant 6);
 * - no automatic resend of commands in flight when a connection drops: a caller sees the
 *   failure and decides. (A resent commit would be harmless anyway: the script ignores an
 *   offset the partition already reflects.)
 */
export async function connectRedis(url: string, options?: ConnectRedisOptions): Promise<Redis>;
export async function connectRedis(target: string | RedisConnectionSettings, options?: ConnectRedisOptions): Promise<RedisClient>;
export async function connectRedis(target: string | RedisConnectionSettings, options: ConnectRedisOptions = {}): Promise<RedisClient> {
  const connectTimeout = options.connectTimeoutMs ?? 10_000;
  const common: RedisOptions = {
    lazyConnect: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 3,
    commandTimeout: options.commandTimeoutMs ?? 10_000,
    connectTimeout,
    autoResendUnfulfilledCommands: false,
    // Back off up to 2 s between reconnects, forever: a long-lived process outlives outages.
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName }),
  };
  const settings: RedisConnectionSettings =
    typeof target === 'string' ? { url: target, username: undefined, password: undefined, tls: undefined, topology: { kind: 'standalone' } } : target;
  const client = createClient(settings, common, options.redisOptions ?? {});
  try {
    await waitUntilReady(client, connectTimeout);
    return client;
  } catch (error) {
    client.disconnect();
    throw error;
  }
}

/** The node options REDIS_URL, the credentials and the TLS material describe. */
function nodeOptions(settings: RedisConnectionSettings): RedisOptions & { host: string; port: number } {
  const url = new URL(settings.url);
  const tls = url.protocol === 'rediss:';
  const db = url.pathname.replace(/^\//, '');
  const username = settings.username ?? (url.username === '' ? undefined : decodeURIComponent(url.username));
  const password = settings.password ?? (url.password === '' ? undefined : decodeURIComponent(url.password));
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? 6379 : Number(url.port),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(db === '' ? {} : { db: Number(db) }),
    ...(tls ? { tls: { ...settings.tls } } : {}),
  };
}

const hostPort = (address: string): { host: string; port: number } => {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
};

function createClient(settings: RedisConnectionSettings, common: RedisOptions, extra: RedisOptions): RedisClient {
  const { host, port, ...node } = nodeOptions(settings);
  const { topology } = settings;
  switch (topology.kind) {
    case 'standalone':
      return new Redis({ host, port, ...common, ...node, ...extra });
    case 'cluster': {
      const { enableAutoPipelining, maxRetriesPerRequest: _perRequest, retryStrategy: _retry, ...perNode } = common;
      const clusterOptions: ClusterOptions = {
        enableAutoPipelining,
        redisOptions: { ...perNode, ...node, ...extra },
        clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
        // Managed clusters behind TLS (ElastiCache) announce node names whose certificates only
        // match when connected to as given, not as the IP a lookup would return.
        ...(node.tls === undefined
          ? {}
          : { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) }),
      };
      return new Cluster([{ host, port }, ...topology.seeds.map(hostPort)], clusterOptions);
    }
    case 'sentinel':
      return new Redis({
        ...common,
        ...node,
        sentinels: [{ host, port }, ...topology.sentinels.map(hostPort)],
        name: topology.master,
        ...(topology.sentinelPassword === undefined ? {} : { sentinelPassword: topology.sentinelPassword }),
        ...(node.tls === undefined ? {} : { enableTLSForSentinelMode: true, sentinelTLS: node.tls }),
        ...extra,
      });
  }
}

function waitUntilReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError: unknown;
    const cleanup = (): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      client.off('end', onEnd);
    };
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    // Errors during the first connect are retried by ioredis; remember the latest for the message.
    const onError = (error: unknown): void => {
      lastError = error;
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error(`Redis connection ended before it was ready${describe(lastError)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms${describe(lastError)}`));
    }, timeoutMs);
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('end', onEnd);
  });
}

const describe = (error: unknown): string => (error instanceof Error ? `: ${error.message}` : '');
