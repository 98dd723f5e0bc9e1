import { describe, expect, it } from 'vitest';
import type { ChangeRecord } from '@flux/domain';
import type { ChangeReplay } from '../ports/change-replay.js';
import type { PartitionCommit, StateStore } from '../ports/state-store.js';
import { useContractFixture, type ContractFixture } from './fixture.js';

/** A store keeping the changes of `retentionOffsets` offsets per partition. */
export type ChangeReplayFactory = (retentionOffsets: number) => Promise<ContractFixture<StateStore & ChangeReplay>>;

const T0 = 1_767_000_000_000;

const upsert = (partition: number, offset: number, id: string): ChangeRecord => ({
  partition,
  offset,
  kind: 'upsert',
  entityId: id,
  changes: [{ property: 'n', value: offset }],
  version: offset + 1,
  timestamp: T0 + offset,
  source: 'contract-suite',
});

/** A commit of the changes at `offsets` (one entity each), ending at the last of them. */
const commitOf = (partition: number, offsets: readonly number[], withChanges = true): PartitionCommit => {
  const changes = offsets.map((offset) => upsert(partition, offset, `r/${offset % 3}`));
  return {
    lastOffset: offsets[offsets.length - 1]!,
    upserts: changes.map((change) => ({ id: change.entityId, entity: { properties: { n: change.offset }, version: 1, lastUpdated: T0 } })),
    deletes: [],
    history: [],
    countDeltas: {},
    eventsApplied: offsets.length,
    ...(withChanges ? { changes } : {}),
  };
};

/**
 * The change record every store that lets WebSocket subscribers resume keeps (embedded LMDB,
 * Redis): the changes of each commit, in log order, for a window of offsets.
 */
export function describeChangeReplayContract(name: string, factory: ChangeReplayFactory): void {
  describe(`ChangeReplay contract: ${name}`, () => {
    describe('within the retention window', () => {
      const fixture = useContractFixture(
        () => factory(1_000),
        (store) => store.close(),
      );

      it('replays the changes after a position in log order, a page at a time', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(2);
        await store.commit(claim, commitOf(2, [0, 1, 2]));
        await store.commit(claim, commitOf(2, [3, 4]));
        await store.commit(claim, commitOf(2, [5, 6, 7, 8]));
        expect(await store.position(2)).toBe(8);

        const all = await store.replayAfter(2, -1, 100);
        expect(all.complete).toBe(true);
        expect(all.next).toBeUndefined();
        expect(all.records).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((offset) => upsert(2, offset, `r/${offset % 3}`)));

        // From the middle of a commit, in pages of 3.
        const offsets: number[] = [];
        let after: number | undefined = 1;
        while (after !== undefined) {
          const page = await store.replayAfter(2, after, 3);
          expect(page.complete).toBe(true);
          expect(page.records.length).toBeLessThanOrEqual(3);
          offsets.push(...page.records.map((record) => record.offset));
          after = page.next;
        }
        expect(offsets).toEqual([2, 3, 4, 5, 6, 7, 8]);
        expect((await store.replayAfter(2, 8, 10)).records).toEqual([]);
        // Other partitions are apart.
        expect((await store.replayAfter(3, -1, 10)).records).toEqual([]);
      });

      it('keeps the record across a restart and never twice when a commit is applied again', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(1);
        await store.commit(claim, commitOf(1, [0, 1]));
        const reopened = await fixture.reopen(store);
        const again = await reopened.claimPartition(1);
        await reopened.commit(again, commitOf(1, [0, 1]));
        await reopened.commit(again, commitOf(1, [2]));
        expect((await reopened.replayAfter(1, -1, 10)).records.map((record) => record.offset)).toEqual([0, 1, 2]);
      });

      it('says it is incomplete across a commit that came without its changes', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(0);
        await store.commit(claim, commitOf(0, [0, 1]));
        await store.commit(claim, commitOf(0, [2, 3], false));
        await store.commit(claim, commitOf(0, [4]));
        expect((await store.replayAfter(0, 1, 10)).complete).toBe(false);
        const after = await store.replayAfter(0, 3, 10);
        expect(after.complete).toBe(true);
        expect(after.records.map((record) => record.offset)).toEqual([4]);
      });
    });

    describe('without retention', () => {
      const fixture = useContractFixture(
        () => factory(0),
        (store) => store.close(),
      );

      it('keeps no change, and says so to whoever asks from before the newest commit', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(3);
        await store.commit(claim, commitOf(3, [0, 1]));
        await store.commit(claim, commitOf(3, [2]));
        const page = await store.replayAfter(3, 0, 10);
        expect(page.complete).toBe(false);
        expect(page.records).toEqual([]);
        expect(await store.replayAfter(3, 2, 10)).toMatchObject({ records: [], complete: true });
      });
    });

    describe('past the retention window', () => {
      const fixture = useContractFixture(
        () => factory(20),
        (store) => store.close(),
      );

      it('drops older changes and says so to whoever asks from before them', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(4);
        for (let offset = 0; offset < 400; offset += 1) await store.commit(claim, commitOf(4, [offset]));
        expect((await store.replayAfter(4, 5, 10)).complete).toBe(false);
        const recent = await store.replayAfter(4, 389, 100);
        expect(recent.complete).toBe(true);
        expect(recent.records.map((record) => record.offset)).toEqual([390, 391, 392, 393, 394, 395, 396, 397, 398, 399]);
      });
    });
  });
}
