import type { RateLimitDecision, RateLimiter } from '@flux/core';
import { TAKE_TOKENS } from './lua/scripts.js';
import { defineScript, type RedisClient, type ScriptCaller } from './lua-script.js';
import { storeCall } from './redis-errors.js';
import { checkKeyPrefix, DEFAULT_KEY_PREFIX, rateLimitKey } from './redis-keys.js';

export interface RedisRateLimiterOptions {
  readonly client: RedisClient;
  /** Prefix of the bucket keys (default `flux:`). */
  readonly keyPrefix?: string;
  /**
   * Tests only: a clock in epoch milliseconds. By default the Redis server's clock is used, so
   * that every gateway agrees on how much a bucket has refilled.
   */
  readonly now?: () => number;
}

/** What one take did, for tests that compare the script with the domain's `takeTokens`. */
export interface TakeDetails extends RateLimitDecision {
  readonly retryAfterMs: number;
  /** Tokens left in the bucket after the take. */
  readonly tokens: number;
  /** The clock reading the script used (epoch ms). */
  readonly now: number;
}

/**
 * Per-namespace token buckets in Redis, shared by every gateway replica: one Lua script per
 * take reads, refills, takes and writes the bucket atomically, so concurrent takes from any
 * number of gateways never grant more than the bucket holds.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly now: (() => number) | undefined;
  private readonly script: ScriptCaller;

  constructor(options: RedisRateLimiterOptions) {
    this.client = options.client;
    this.prefix = checkKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
    this.now = options.now;
    this.script = defineScript(this.client, TAKE_TOKENS);
  }

  async take(namespace: string, requested: number, perMinute: number): Promise<RateLimitDecision> {
    const { granted, retryAfterSeconds, remaining } = await this.takeWithDetails(namespace, requested, perMinute);
    return { granted, retryAfterSeconds, remaining };
  }

  async takeWithDetails(namespace: string, requested: number, perMinute: number): Promise<TakeDetails> {
    if (!Number.isSafeInteger(requested) || requested < 0) throw new RangeError(`requested must be a non-negative integer, got ${requested}`);
    if (!(perMinute >= 0) || !Number.isFinite(perMinute)) throw new RangeError(`perMinute must be a non-negative number, got ${perMinute}`);
    const now = this.now === undefined ? '' : String(this.now());
    const [granted, retryAfterMs, tokens, used] = await storeCall(
      'rate limit',
      async () =>
        (await this.script([rateLimitKey(this.prefix, namespace)], [String(perMinute), String(requested), now])) as [number, number, string, string],
    );
    const refused = granted < requested;
    // Retry-After is whole seconds; rounding up never invites a retry that is refused again.
    return {
      granted,
      retryAfterSeconds: refused ? Math.max(1, Math.ceil(retryAfterMs / 1000)) : 0,
      remaining: Math.floor(Number(tokens)),
      retryAfterMs,
      tokens: Number(tokens),
      now: Number(used),
    };
  }
}
