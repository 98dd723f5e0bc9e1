import { takeTokens, type BucketState } from '@flux/domain';
import type { RateLimitDecision, RateLimiter } from '@flux/core';

export interface MemoryRateLimiterOptions {
  /** Clock in epoch milliseconds (tests pass a fake one). */
  readonly now?: () => number;
}

interface Bucket {
  readonly state: BucketState;
  /** The limit of the last take, to tell when the bucket has refilled completely. */
  readonly perMinute: number;
}

const MINUTE_MS = 60_000;

/**
 * Per-namespace token buckets in process memory (the embedded deployment has one gateway, so
 * nothing needs sharing). The bucket arithmetic is the domain's `takeTokens`. Memory stays
 * bounded: at most once a minute, buckets that have refilled completely are dropped, since a
 * full bucket behaves exactly like a missing one (a new bucket starts full).
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private lastSweep: number;

  constructor(options: MemoryRateLimiterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.lastSweep = this.now();
  }

  /** Buckets held in memory (for tests and metrics). */
  get bucketCount(): number {
    return this.buckets.size;
  }

  async take(namespace: string, requested: number, perMinute: number): Promise<RateLimitDecision> {
    if (!Number.isInteger(requested) || requested < 0) throw new RangeError(`requested must be a non-negative integer, got ${requested}`);
    if (!(perMinute >= 0)) throw new RangeError(`perMinute must not be negative, got ${perMinute}`);
    const now = this.now();
    this.sweep(now);
    const result = takeTokens(this.buckets.get(namespace)?.state, now, perMinute, requested);
    this.buckets.set(namespace, { state: result.state, perMinute });
    const refused = result.granted < requested;
    // Retry-After is whole seconds; rounding up never invites a retry that is refused again.
    return {
      granted: result.granted,
      retryAfterSeconds: refused ? Math.max(1, Math.ceil(result.retryAfterMs / 1000)) : 0,
      remaining: Math.floor(result.state.tokens),
    };
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < MINUTE_MS && now >= this.lastSweep) return;
    this.lastSweep = now;
    for (const [namespace, bucket] of this.buckets) {
      const elapsed = Math.max(0, now - bucket.state.updatedAt);
      const refilled = bucket.state.tokens + (elapsed * bucket.perMinute) / MINUTE_MS;
      if (refilled >= bucket.perMinute) this.buckets.delete(namespace);
    }
  }
}
