import { expect, it } from 'vitest';
import { MemoryPollLease } from '../src/index.js';

// The shared behaviour is in the PollLease contract (contracts.test.ts); this pins the expiry
// boundary, which only an injected clock can reach exactly.
it('expires exactly TTL after the last acquire or renew, and only the holder extends it', async () => {
  let now = 1_000;
  const lease = new MemoryPollLease(() => now);
  expect(await lease.acquire('k', 'a', 100)).toBe(true);
  expect(await lease.acquire('k', 'b', 100)).toBe(false);
  expect(await lease.acquire('k', 'a', 100)).toBe(true); // re-entrant
  expect(await lease.renew('k', 'b', 100)).toBe(false);
  now += 99;
  expect(await lease.renew('k', 'a', 100)).toBe(true);
  now += 99;
  expect(await lease.acquire('k', 'b', 100)).toBe(false);
  await lease.release('k', 'b'); // not b's: no effect
  expect(await lease.acquire('k', 'b', 100)).toBe(false);
  now += 1;
  expect(await lease.renew('k', 'a', 100)).toBe(false); // expired
  expect(await lease.acquire('k', 'b', 100)).toBe(true);
  await lease.release('k', 'b');
  expect(await lease.acquire('k', 'a', 100)).toBe(true);
});
