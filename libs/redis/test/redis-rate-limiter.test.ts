import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { takeTokens, type BucketState } from '@flux/domain';
import { describeWithRedis } from '@flux/core/testing';
import { rateLimitKey, RedisRateLimiter } from '../src/index.js';
import { connect, deleteKeysWithPrefix, uniquePrefix } from './support.js';

/** A small deterministic PRNG (mulberry32), so a failing sequence can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(next: () => number, values: readonly T[]): T => values[Math.floor(next() * values.length)]!;

/** -0 and 0 are the same token count; toEqual would tell them apart. */
const plain = (n: number): number => n + 0;

describeWithRedis('RedisRateLimiter (adapter)', (url) => {
  let prefix: string;
  let client: Redis;

  beforeEach(async () => {
    prefix = uniquePrefix();
    client = await connect(url);
  });

  afterEach(async () => {
    await deleteKeysWithPrefix(client, prefix);
    await client.quit();
  });

  describe('equivalence with the domain takeTokens', () => {
    it('gives the same grants, waits and bucket contents over many random sequences', async () => {
      const limits = [0, 1, 3, 6, 7, 60, 999, 1000, 10_000, 600_000, 2.5, 1e9];
      const steps = [0, 1, 2, 7, 13, 333, 999, 1000, 6000, 59_999, 60_000, 3_600_000];
      const sequences = 150;
      let compared = 0;
      let refusals = 0;
      // Sequences run concurrently (each on its own bucket); the takes of one run in order.
      const runSequence = async (s: number): Promise<void> => {
        const next = random(s + 1);
        const namespace = `seq-${s}`;
        let perMinute = pick(next, limits);
        let state: BucketState | undefined;
        let clock = 1_767_000_000_000 + Math.floor(next() * 1e6);
        const takes: { now: number; perMinute: number; requested: number }[] = [];
        for (let step = 0; step < 25; step++) {
          // Sometimes the limit changes (clamping), sometimes time jumps, sometimes not at all.
          if (next() < 0.15) perMinute = pick(next, limits);
          clock += next() < 0.5 ? pick(next, steps) : Math.floor(next() * 20_000);
          const requested = next() < 0.1 ? 0 : Math.floor(next() * Math.min(Math.max(perMinute, 1) * 1.5, 5000)) + 1;
          takes.push({ now: clock, perMinute, requested });
        }
        // Sent one after another (each depends on the bucket the last one left).
        const limiter = new RedisRateLimiter({ client, keyPrefix: prefix, now: () => clock });
        for (const take of takes) {
          clock = take.now;
          const actual = await limiter.takeWithDetails(namespace, take.requested, take.perMinute);
          const expected = takeTokens(state, take.now, take.perMinute, take.requested);
          state = expected.state;
          const context = `sequence ${s}, ${JSON.stringify(take)}`;
          expect({ granted: actual.granted, retryAfterMs: actual.retryAfterMs, tokens: plain(actual.tokens), now: actual.now }, context).toEqual({
            granted: expected.granted,
            retryAfterMs: expected.retryAfterMs,
            tokens: plain(expected.state.tokens),
            now: take.now,
          });
          compared++;
          if (expected.granted < take.requested) refusals++;
        }
      };
      await Promise.all(Array.from({ length: sequences }, (_, s) => runSequence(s)));
      expect(compared).toBe(sequences * 25);
      expect(refusals).toBeGreaterThan(100); // the sequences really exercise the refusal path
    });

    it('uses the Redis server clock by default, and matches takeTokens at the times it reports', async () => {
      const limiter = new RedisRateLimiter({ client, keyPrefix: prefix });
      const perMinute = 600_000; // 10 tokens per ms: real elapsed time matters
      let state: BucketState | undefined;
      const [seconds] = await client.time();
      for (let i = 0; i < 200; i++) {
        const requested = 1 + (i % 37) * 50;
        const actual = await limiter.takeWithDetails('server-clock', requested, perMinute);
        expect(Math.abs(actual.now - Number(seconds) * 1000)).toBeLessThan(60_000);
        const expected = takeTokens(state, actual.now, perMinute, requested);
        state = expected.state;
        expect([actual.granted, actual.retryAfterMs, plain(actual.tokens)]).toEqual([
          expected.granted,
          expected.retryAfterMs,
          plain(expected.state.tokens),
        ]);
      }
    });
  });

  it('lets an idle bucket expire a minute after it would be full again', async () => {
    const limiter = new RedisRateLimiter({ client, keyPrefix: prefix });
    await limiter.take('idle', 30, 60); // 30 of 60 taken: full again after 30 s
    const ttl = await client.pttl(rateLimitKey(prefix, 'idle'));
    expect(ttl).toBeGreaterThan(89_000);
    expect(ttl).toBeLessThanOrEqual(90_000);
    await limiter.take('untouched', 0, 60);
    const full = await client.pttl(rateLimitKey(prefix, 'untouched'));
    expect(full).toBeGreaterThan(59_000);
    expect(full).toBeLessThanOrEqual(60_000);
  });

  it('never grants more than the bucket holds to concurrent takes from several gateways', async () => {
    const others = await Promise.all([connect(url), connect(url), connect(url)]);
    try {
      const limiters = [client, ...others].map((c) => new RedisRateLimiter({ client: c, keyPrefix: prefix }));
      const decisions = await Promise.all(Array.from({ length: 120 }, (_, i) => limiters[i % limiters.length]!.take('contested', 1, 50)));
      expect(decisions.reduce((sum, d) => sum + d.granted, 0)).toBe(50);
      for (const refused of decisions.filter((d) => d.granted === 0)) expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    } finally {
      await Promise.all(others.map((c) => c.quit()));
    }
  });

  it('rejects a negative or fractional request before asking Redis', async () => {
    const limiter = new RedisRateLimiter({ client, keyPrefix: prefix });
    await expect(limiter.take('ns', -1, 10)).rejects.toThrow(RangeError);
    await expect(limiter.take('ns', 1.5, 10)).rejects.toThrow(RangeError);
    await expect(limiter.take('ns', 1, -10)).rejects.toThrow(RangeError);
  });
});
