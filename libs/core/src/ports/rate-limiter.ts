export interface RateLimitDecision {
  /** Tokens granted, at most the number requested. */
  readonly granted: number;
  /** When not all were granted: seconds until the next token (for Retry-After). */
  readonly retryAfterSeconds: number;
  /** Whole tokens left in the bucket after this take (for X-RateLimit-Remaining). */
  readonly remaining: number;
}

/** What a client is told about its bucket (the X-RateLimit-* headers). */
export interface RateLimitStatus {
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until the bucket is full again. */
  readonly resetSeconds: number;
}

export const rateLimitStatus = (decision: RateLimitDecision, perMinute: number): RateLimitStatus => ({
  limit: perMinute,
  remaining: decision.remaining,
  resetSeconds: perMinute > 0 ? Math.ceil(((perMinute - decision.remaining) * 60) / perMinute) : 60,
});

/**
 * Per-namespace token buckets (capacity and refill per minute = `perMinute`), shared by
 * every gateway instance of a deployment.
 */
export interface RateLimiter {
  take(namespace: string, requested: number, perMinute: number): Promise<RateLimitDecision>;
}
