export interface RateLimitDecision {
  /** Tokens granted, at most the number requested. */
  readonly granted: number;
  /** When not all were granted: seconds until the next token (for Retry-After). */
  readonly retryAfterSeconds: number;
}

/**
 * Per-namespace token buckets (capacity and refill per minute = `perMinute`), shared by
 * every gateway instance of a deployment.
 */
export interface RateLimiter {
  take(namespace: string, requested: number, perMinute: number): Promise<RateLimitDecision>;
}
