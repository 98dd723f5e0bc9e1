import { describe, expect, it } from 'vitest';
import { takeTokens, type BucketState } from '@flux/domain';

const T0 = 1_764_000_000_000;
const SECOND = 1000;

/** Takes `count` single tokens at time `now`, threading the state; returns the grants and final state. */
function takeOneByOne(state: BucketState | undefined, now: number, perMinute: number, count: number) {
  let granted = 0;
  let current = state;
  let last;
  for (let i = 0; i < count; i++) {
    last = takeTokens(current, now, perMinute, 1);
    current = last.state;
    granted += last.granted;
  }
  return { granted, state: current!, last: last! };
}

describe('takeTokens', () => {
  it('starts with a full bucket: grants up to the capacity, then refuses', () => {
    const first = takeOneByOne(undefined, T0, 100, 100);
    expect(first.granted).toBe(100);
    const next = takeTokens(first.state, T0, 100, 1);
    expect(next.granted).toBe(0);
    expect(next.retryAfterMs).toBeGreaterThan(0);
  });

  it('grants a whole request at once when it fits, and only what is available otherwise', () => {
    const all = takeTokens(undefined, T0, 100, 60);
    expect(all.granted).toBe(60);
    expect(all.retryAfterMs).toBe(0);
    const partial = takeTokens(all.state, T0, 100, 60);
    expect(partial.granted).toBe(40);
    expect(partial.retryAfterMs).toBeGreaterThan(0);
  });

  it('refills continuously: half the capacity after 30 seconds', () => {
    const drained = takeTokens(undefined, T0, 10_000, 10_000);
    expect(drained.state.tokens).toBe(0);
    const later = takeTokens(drained.state, T0 + 30 * SECOND, 10_000, 10_000);
    expect(later.granted).toBe(5_000);
  });

  it('refills in proportion to elapsed time, not in whole-minute steps', () => {
    const drained = takeTokens(undefined, T0, 60, 60).state;
    expect(takeTokens(drained, T0 + 999, 60, 1).granted).toBe(0);
    expect(takeTokens(drained, T0 + SECOND, 60, 1).granted).toBe(1);
    expect(takeTokens(drained, T0 + 10 * SECOND, 60, 100).granted).toBe(10);
  });

  it('never holds more than the capacity, however long it was idle', () => {
    const used = takeTokens(undefined, T0, 100, 1).state;
    const muchLater = takeTokens(used, T0 + 24 * 60 * 60 * SECOND, 100, 1_000);
    expect(muchLater.granted).toBe(100);
    const idle = takeTokens(used, T0 + 60 * 60 * SECOND, 100, 0);
    expect(idle.state.tokens).toBe(100);
  });

  it('clamps an existing bucket at once when the limit is lowered', () => {
    const full = takeTokens(undefined, T0, 10_000, 0).state;
    expect(full.tokens).toBe(10_000);
    const lowered = takeTokens(full, T0 + SECOND, 10, 1_000);
    expect(lowered.granted).toBe(10);
    expect(lowered.state.tokens).toBe(0);
  });

  it('refills at the new rate, from what was left, when the limit is raised', () => {
    const drained = takeTokens(undefined, T0, 10, 10).state;
    const raised = takeTokens(drained, T0 + 30 * SECOND, 1_000, 10_000);
    expect(raised.granted).toBe(500);
  });

  it('reports the time until the next token is available', () => {
    // 60 per minute: one token per second.
    const drained = takeTokens(undefined, T0, 60, 60).state;
    const refused = takeTokens(drained, T0, 60, 1);
    expect(refused.granted).toBe(0);
    expect(refused.retryAfterMs).toBe(1000);

    // Half a token accumulated: half a second to wait.
    const halfway = takeTokens(drained, T0 + 500, 60, 1);
    expect(halfway.granted).toBe(0);
    expect(halfway.retryAfterMs).toBe(500);

    // After waiting that long, the token is there.
    expect(takeTokens(halfway.state, T0 + 500 + halfway.retryAfterMs, 60, 1).granted).toBe(1);
  });

  it('rounds retryAfterMs up to a whole millisecond', () => {
    // 7 per minute: a token every 8571.43 ms.
    const drained = takeTokens(undefined, T0, 7, 7).state;
    const refused = takeTokens(drained, T0, 7, 1);
    expect(refused.retryAfterMs).toBe(8572);
    expect(takeTokens(refused.state, T0 + refused.retryAfterMs, 7, 1).granted).toBe(1);
    expect(takeTokens(refused.state, T0 + refused.retryAfterMs - 1, 7, 1).granted).toBe(0);
  });

  it('grants a token to a client that waits exactly retryAfterMs, despite floating-point rounding', () => {
    // A state reached in practice at 5 per minute: the exact wait is 11800 ms, but the refill
    // computed then is 0.9999999999999999 tokens.
    const refused = takeTokens({ tokens: 0.016666666666666607, updatedAt: T0 }, T0, 5, 1);
    expect(refused.granted).toBe(0);
    expect(takeTokens(refused.state, T0 + refused.retryAfterMs, 5, 1).granted).toBe(1);
  });

  it('always lets a client that waits retryAfterMs take a token (sweep)', () => {
    let seed = 12345;
    const random = (limit: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % limit;
    };
    for (let perMinute = 1; perMinute <= 500; perMinute++) {
      let state = takeTokens(undefined, T0, perMinute, perMinute).state;
      let now = T0;
      for (let i = 0; i < 20; i++) {
        now += random(3000);
        const refused = takeTokens(state, now, perMinute, Number.MAX_SAFE_INTEGER);
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        expect(takeTokens(refused.state, now + refused.retryAfterMs, perMinute, 1).granted).toBe(1);
        state = refused.state;
      }
    }
  });

  it('reports retryAfterMs 0 when everything requested was granted', () => {
    expect(takeTokens(undefined, T0, 10, 10).retryAfterMs).toBe(0);
  });

  it('with capacity 0 grants nothing and asks to retry in a minute', () => {
    const result = takeTokens(undefined, T0, 0, 1);
    expect(result.granted).toBe(0);
    expect(result.retryAfterMs).toBe(60_000);
    const again = takeTokens(result.state, T0 + 10 * 60 * SECOND, 0, 1);
    expect(again.granted).toBe(0);
    expect(again.retryAfterMs).toBe(60_000);
  });

  it('clamps an existing bucket to nothing when the limit drops to 0', () => {
    const full = takeTokens(undefined, T0, 100, 0).state;
    const result = takeTokens(full, T0, 0, 1);
    expect(result.granted).toBe(0);
    expect(result.retryAfterMs).toBe(60_000);
  });

  it('does not refill when the clock goes backwards', () => {
    const drained = takeTokens(undefined, T0, 60, 60).state;
    const result = takeTokens(drained, T0 - 30 * SECOND, 60, 1);
    expect(result.granted).toBe(0);
    expect(result.state.tokens).toBe(0);
  });

  it('records the time of the take in the new state', () => {
    const first = takeTokens(undefined, T0, 10, 1);
    expect(first.state.updatedAt).toBe(T0);
    expect(takeTokens(first.state, T0 + 1234, 10, 1).state.updatedAt).toBe(T0 + 1234);
  });

  it('does not mutate the previous state', () => {
    const previous: BucketState = Object.freeze({ tokens: 5, updatedAt: T0 });
    takeTokens(previous, T0 + SECOND, 60, 3);
    expect(previous).toEqual({ tokens: 5, updatedAt: T0 });
  });
});
