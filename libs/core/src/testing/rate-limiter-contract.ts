import { describe, expect, it } from 'vitest';
import type { RateLimiter } from '../ports/rate-limiter.js';
import { within } from './async.js';
import { useContractFixture, type ContractFixture } from './fixture.js';

/**
 * `open` returns a limiter on the fixture's shared buckets (the same object for an in-process
 * limiter, a new client for Redis); `dispose` releases them. Limiters use the real clock, so
 * the tests pick limits whose refill during a test run cannot change the outcome: at 6 per
 * minute one token takes 10 s to come back.
 */
export type RateLimiterFactory = () => Promise<ContractFixture<RateLimiter>>;

const SLOW = 6;

/** The behaviour every RateLimiter adapter (in-process, Redis) must show. */
export function describeRateLimiterContract(name: string, factory: RateLimiterFactory): void {
  describe(`RateLimiter contract: ${name}`, () => {
    const fixture = useContractFixture(factory, async () => undefined);

    it('grants up to perMinute, then partially, then nothing with a Retry-After of at least a second', async () => {
      const limiter = await fixture.open();
      expect(await limiter.take('ns-a', 4, SLOW)).toEqual({ granted: 4, retryAfterSeconds: 0, remaining: 2 });
      const partial = await limiter.take('ns-a', 4, SLOW);
      expect(partial.granted).toBe(2);
      expect(partial.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(partial.retryAfterSeconds).toBeLessThanOrEqual(60 / SLOW);
      const refused = await limiter.take('ns-a', 1, SLOW);
      expect(refused.granted).toBe(0);
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60 / SLOW);
    });

    it('never grants more than requested and asks no wait when all was granted', async () => {
      const limiter = await fixture.open();
      expect(await limiter.take('ns-a', 1, 1000)).toEqual({ granted: 1, retryAfterSeconds: 0, remaining: 999 });
      expect(await limiter.take('ns-a', 0, 1000)).toMatchObject({ granted: 0, retryAfterSeconds: 0 });
      const zeroLimit = await limiter.take('ns-zero', 1, 0);
      expect(zeroLimit.granted).toBe(0);
      expect(zeroLimit.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    });

    it('tells the whole tokens remaining after each take, down to zero when refused', async () => {
      const limiter = await fixture.open();
      expect((await limiter.take('ns-r', 1, SLOW)).remaining).toBe(SLOW - 1);
      expect((await limiter.take('ns-r', 2, SLOW)).remaining).toBe(SLOW - 3);
      const partial = await limiter.take('ns-r', 10, SLOW);
      expect(partial).toMatchObject({ granted: SLOW - 3, remaining: 0 });
      expect((await limiter.take('ns-r', 1, SLOW)).remaining).toBe(0);
    });

    it('keeps namespaces independent', async () => {
      const limiter = await fixture.open();
      expect((await limiter.take('ns-a', SLOW, SLOW)).granted).toBe(SLOW);
      expect((await limiter.take('ns-a', 1, SLOW)).granted).toBe(0);
      expect((await limiter.take('ns-b', SLOW, SLOW)).granted).toBe(SLOW);
    });

    it('clamps an existing bucket when the limit is lowered', async () => {
      const limiter = await fixture.open();
      expect((await limiter.take('ns-a', 1, 1000)).granted).toBe(1);
      const lowered = await limiter.take('ns-a', 100, 3);
      expect(lowered.granted).toBe(3);
      expect(lowered.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    });

    it('refills continuously over time', async () => {
      const limiter = await fixture.open();
      // 600,000 per minute is 10 tokens per millisecond: a short wait brings tokens back.
      const fast = 600_000;
      expect((await limiter.take('ns-fast', fast, fast)).granted).toBe(fast);
      const refilled = (async () => {
        for (;;) {
          const { granted } = await limiter.take('ns-fast', 1, fast);
          if (granted === 1) return;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      await within(refilled, 'a token to be refilled');
    });

    it('shares buckets between instances on the same data', async () => {
      const one = await fixture.open();
      const two = await fixture.open();
      expect((await one.take('shared', SLOW - 1, SLOW)).granted).toBe(SLOW - 1);
      expect((await two.take('shared', 3, SLOW)).granted).toBe(1);
    });
  });
}
