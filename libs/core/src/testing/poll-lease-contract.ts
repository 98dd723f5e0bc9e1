import { describe, expect, it } from 'vitest';
import type { PollLease } from '../ports/poll-lease.js';
import { waitFor } from './async.js';
import { useContractFixture, type ContractFixture } from './fixture.js';

/**
 * `open` returns a lease on the fixture's shared leases (the same object in process, a new
 * client for Redis), as two processes of one deployment would see them. Expiry runs on the
 * real clock with a short TTL.
 */
export type PollLeaseFactory = () => Promise<ContractFixture<PollLease>>;

/** The behaviour every PollLease adapter (in-process, Redis) must show. */
export function describePollLeaseContract(name: string, factory: PollLeaseFactory): void {
  describe(`PollLease contract: ${name}`, () => {
    const fixture = useContractFixture(factory, async () => undefined);

    it('gives a key to one holder at a time; the holder may extend its own', async () => {
      const [a, b] = [await fixture.open(), await fixture.open()];
      expect(await a.acquire('github:ns', 'gateway-a', 30_000)).toBe(true);
      expect(await b.acquire('github:ns', 'gateway-b', 30_000)).toBe(false);
      expect(await a.acquire('github:ns', 'gateway-a', 30_000)).toBe(true);
      expect(await b.acquire('github:other', 'gateway-b', 30_000)).toBe(true);
    });

    it('renews and releases only for the holder', async () => {
      const [a, b] = [await fixture.open(), await fixture.open()];
      await a.acquire('github:ns', 'gateway-a', 30_000);
      expect(await b.renew('github:ns', 'gateway-b', 30_000)).toBe(false);
      await b.release('github:ns', 'gateway-b');
      expect(await b.acquire('github:ns', 'gateway-b', 30_000)).toBe(false);
      expect(await a.renew('github:ns', 'gateway-a', 30_000)).toBe(true);
      await a.release('github:ns', 'gateway-a');
      expect(await b.acquire('github:ns', 'gateway-b', 30_000)).toBe(true);
    });

    it('lets another holder take over once a dead holder’s lease expired, and the dead one cannot renew', async () => {
      const [dead, successor] = [await fixture.open(), await fixture.open()];
      expect(await dead.acquire('github:ns', 'dead', 200)).toBe(true);
      expect(await successor.acquire('github:ns', 'successor', 30_000)).toBe(false);
      await waitFor(() => successor.acquire('github:ns', 'successor', 30_000), { timeoutMs: 5_000, what: 'the expired lease to be taken over' });
      expect(await dead.renew('github:ns', 'dead', 200)).toBe(false);
    });
  });
}
