/**
 * A continuously refilled token bucket whose capacity and refill per minute are the same
 * configured limit. Pure: callers persist the state (in memory, or in Redis via an
 * equivalent script) and pass the clock in.
 */
export interface BucketState {
  readonly tokens: number;
  /** Epoch milliseconds of the last refill. */
  readonly updatedAt: number;
}

export interface TakeResult {
  readonly state: BucketState;
  /** Tokens granted, at most the number requested. */
  readonly granted: number;
  /** When not everything was granted: milliseconds until one more token is available. */
  readonly retryAfterMs: number;
}

const MINUTE_MS = 60_000;

export function takeTokens(previous: BucketState | undefined, now: number, perMinute: number, requested: number): TakeResult {
  const capacity = Math.max(0, perMinute);
  const elapsed = previous === undefined ? 0 : Math.max(0, now - previous.updatedAt);
  const refilled = previous === undefined ? capacity : previous.tokens + (elapsed * capacity) / MINUTE_MS;
  // Clamping on every take also applies a lowered limit to existing buckets at once.
  const available = Math.min(capacity, refilled);
  const granted = Math.max(0, Math.min(requested, Math.floor(available)));
  const tokens = available - granted;
  let retryAfterMs = 0;
  if (granted < requested) {
    if (capacity === 0) {
      retryAfterMs = MINUTE_MS;
    } else {
      retryAfterMs = Math.ceil(((1 - tokens) * MINUTE_MS) / capacity);
      // Floating-point rounding can leave the refill computed at that moment a hair below one
      // token (0.9999999999999999); wait until the refill the next take computes reaches one.
      while (tokens + (retryAfterMs * capacity) / MINUTE_MS < 1) retryAfterMs += 1;
    }
  }
  return { state: { tokens, updatedAt: now }, granted, retryAfterMs };
}
