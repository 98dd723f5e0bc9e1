import { checkKeyPrefix, DEFAULT_KEY_PREFIX, peerKey } from './redis-keys.js';
import type { RedisClient } from './lua-script.js';

export interface RedisPeerRegistryOptions {
  readonly client: RedisClient;
  /** Prefix of the keys (default `flux:`). */
  readonly keyPrefix?: string;
  /** How long a registration lasts unless renewed (default 15 s; renewed every third of it). */
  readonly ttlMs?: number;
}

/**
 * Where each gateway instance can be reached by the others (its MCP sessions live in its
 * memory, so a request of one that reaches another gateway is passed on to it). Only what a
 * gateway registered itself is ever looked up, so an address in a request is never trusted.
 */
export class RedisPeerRegistry {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly registered = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: RedisPeerRegistryOptions) {
    this.client = options.client;
    this.prefix = checkKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
    this.ttlMs = options.ttlMs ?? 15_000;
    if (!Number.isInteger(this.ttlMs) || this.ttlMs < 3) throw new RangeError(`ttlMs must be an integer of at least 3, got ${this.ttlMs}`);
  }

  /** Registers `instanceId` at `url` and keeps the registration alive until close(). */
  async register(instanceId: string, url: string): Promise<void> {
    this.registered.set(instanceId, url);
    await this.renew();
    this.timer ??= setInterval(() => void this.renew().catch(() => undefined), Math.floor(this.ttlMs / 3));
    this.timer.unref();
  }

  /** The URL `instanceId` registered, or undefined (never registered, expired or closed). */
  async lookup(instanceId: string): Promise<string | undefined> {
    return (await this.client.get(peerKey(this.prefix, instanceId))) ?? undefined;
  }

  /** Withdraws this process's registrations at once. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    const ids = [...this.registered.keys()];
    this.registered.clear();
    if (ids.length > 0) await Promise.all(ids.map((id) => this.client.del(peerKey(this.prefix, id)))).catch(() => undefined);
  }

  private async renew(): Promise<void> {
    await Promise.all([...this.registered].map(([id, url]) => this.client.set(peerKey(this.prefix, id), url, 'PX', this.ttlMs)));
  }
}
