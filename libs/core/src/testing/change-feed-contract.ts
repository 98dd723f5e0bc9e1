import { describe, expect, it } from 'vitest';
import type { ChangeRecord } from '@flux/domain';
import type { ChangeFeed } from '../ports/change-feed.js';
import { Collector, quietPeriod } from './async.js';
import { useContractFixture, type ContractFixture } from './fixture.js';

/**
 * `open` returns an instance on the fixture's shared channel: an in-process feed may return the
 * same object every time; a networked feed (Redis pub/sub) returns a new connection. The
 * fixture's `dispose` releases every instance it opened (ChangeFeed has no close()).
 */
export type ChangeFeedFactory = () => Promise<ContractFixture<ChangeFeed>>;

const upsert = (entityId: string, offset: number, partition = 0): ChangeRecord => ({
  kind: 'upsert',
  partition,
  offset,
  entityId,
  changes: [
    { property: 'seq', value: offset },
    { property: 'removed', value: null },
  ],
  version: offset + 1,
  timestamp: 1_767_000_000_000 + offset,
  source: 'contract-suite',
});

const deletion = (entityId: string, offset: number, partition = 0): ChangeRecord => ({
  kind: 'delete',
  partition,
  offset,
  entityId,
  timestamp: 1_767_000_000_000 + offset,
  source: 'contract-suite',
});

/** The behaviour every ChangeFeed adapter (in-process, Redis pub/sub) must show. */
export function describeChangeFeedContract(name: string, factory: ChangeFeedFactory): void {
  describe(`ChangeFeed contract: ${name}`, () => {
    const fixture = useContractFixture(factory, async () => undefined);

    it('delivers published batches to every subscriber, in order and intact', async () => {
      const feed = await fixture.open();
      const first = new Collector<readonly ChangeRecord[]>();
      const second = new Collector<readonly ChangeRecord[]>();
      feed.subscribe((changes) => first.push(changes));
      feed.subscribe((changes) => second.push(changes));

      const batches = [[upsert('a', 0), upsert('b', 1, 2)], [deletion('a', 2)], [upsert('__proto__', 3), upsert('日本/😀', 4)]];
      for (const batch of batches) feed.publish(batch);
      await first.untilCount(3, 'three batches');
      await second.untilCount(3, 'three batches');
      expect(first.items).toEqual(batches);
      expect(second.items).toEqual(batches);
    });

    it('stops delivering to a listener once it unsubscribed', async () => {
      const feed = await fixture.open();
      const leaving = new Collector<readonly ChangeRecord[]>();
      const staying = new Collector<readonly ChangeRecord[]>();
      const unsubscribe = feed.subscribe((changes) => leaving.push(changes));
      feed.subscribe((changes) => staying.push(changes));

      feed.publish([upsert('a', 0)]);
      await leaving.untilCount(1, 'the batch before unsubscribing');
      unsubscribe();
      unsubscribe(); // harmless twice
      feed.publish([upsert('a', 1)]);
      feed.publish([upsert('marker', 2)]);
      await staying.untilCount(3, 'the marker batch');
      await quietPeriod(20);
      expect(leaving.items).toEqual([[upsert('a', 0)]]);
    });

    it('keeps delivering to other listeners when one throws', async () => {
      const feed = await fixture.open();
      const healthy = new Collector<readonly ChangeRecord[]>();
      feed.subscribe(() => {
        throw new Error('listener failed');
      });
      feed.subscribe((changes) => healthy.push(changes));
      feed.publish([upsert('a', 0)]);
      feed.publish([upsert('a', 1)]);
      await healthy.untilCount(2, 'both batches despite a throwing listener');
      expect(healthy.items.flat().map((c) => c.offset)).toEqual([0, 1]);
    });

    it('reaches subscribers of another instance on the same channel', async () => {
      const publisher = await fixture.open();
      const subscriber = await fixture.open();
      const received = new Collector<readonly ChangeRecord[]>();
      subscriber.subscribe((changes) => received.push(changes));
      publisher.publish([upsert('shared', 0), deletion('shared', 1)]);
      await received.untilCount(1, 'a batch published by the other instance');
      expect(received.items[0]).toEqual([upsert('shared', 0), deletion('shared', 1)]);
    });
  });
}
