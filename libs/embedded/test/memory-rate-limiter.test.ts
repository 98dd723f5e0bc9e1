import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../src/index.js';

/** A clock the test moves by hand. */
const manualClock = (start = 1_767_000_000_000) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
};

describe('MemoryRateLimiter', () => {
  it('refills continuously at perMinute per minute', async () => {
    const clock = manualClock();
    const limiter = new MemoryRateLimiter({ now: clock.now });
    expect((await limiter.take('ns', 60, 60)).granted).toBe(60);
    expect(await limiter.take('ns', 1, 60)).toEqual({ granted: 0, retryAfterSeconds: 1, remaining: 0 });
    clock.advance(2_500);
    expect((await limiter.take('ns', 5, 60)).granted).toBe(2);
    clock.advance(10 * 60_000);
    expect((await limiter.take('ns', 100, 60)).granted).toBe(60); // never above capacity
  });

  it('rounds Retry-After up to whole seconds', async () => {
    const clock = manualClock();
    const limiter = new MemoryRateLimiter({ now: clock.now });
    await limiter.take('ns', 6, 6);
    expect(await limiter.take('ns', 1, 6)).toEqual({ granted: 0, retryAfterSeconds: 10, remaining: 0 });
    clock.advance(9_001);
    expect(await limiter.take('ns', 1, 6)).toEqual({ granted: 0, retryAfterSeconds: 1, remaining: 0 });
    clock.advance(999);
    expect((await limiter.take('ns', 1, 6)).granted).toBe(1);
  });

  it('forgets idle buckets once they are full again, and only those', async () => {
    const clock = manualClock();
    const limiter = new MemoryRateLimiter({ now: clock.now });
    for (let i = 0; i < 100; i++) await limiter.take(`idle-${i}`, 1, 1_000);
    clock.advance(59_000);
    await limiter.take('drained', 60, 60);
    expect(limiter.bucketCount).toBe(101);

    clock.advance(1_000);
    await limiter.take('trigger', 1, 1_000);
    // 'drained' has refilled one token of 60 and must keep its state; the idle ones are full.
    expect(limiter.bucketCount).toBe(2);
    expect((await limiter.take('drained', 60, 60)).granted).toBe(1);
    expect((await limiter.take('idle-0', 1_000, 1_000)).granted).toBe(1_000);
  });

  it('rejects nonsense requests', async () => {
    const limiter = new MemoryRateLimiter();
    await expect(limiter.take('ns', -1, 10)).rejects.toThrow(RangeError);
    await expect(limiter.take('ns', 1.5, 10)).rejects.toThrow(RangeError);
    await expect(limiter.take('ns', 1, -10)).rejects.toThrow(RangeError);
    await expect(limiter.take('ns', 1, Number.NaN)).rejects.toThrow(RangeError);
  });
});
