import { Redis, type RedisOptions } from 'ioredis';

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
export async function connectRedis(url: string, options: ConnectRedisOptions = {}): Promise<Redis> {
  const connectTimeout = options.connectTimeoutMs ?? 10_000;
  const client = new Redis(url, {
    lazyConnect: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 3,
    commandTimeout: options.commandTimeoutMs ?? 10_000,
    connectTimeout,
    autoResendUnfulfilledCommands: false,
    // Back off up to 2 s between reconnects, forever: a long-lived process outlives outages.
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName }),
    ...options.redisOptions,
  });
  try {
    await waitUntilReady(client, connectTimeout);
    return client;
  } catch (error) {
    client.disconnect();
    throw error;
  }
}

function waitUntilReady(client: Redis, timeoutMs: number): Promise<void> {
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
