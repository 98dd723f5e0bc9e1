import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { open } from 'lmdb';
import { join } from 'node:path';
import { HISTORY_MAX_PER_ENTITY, type ChangeRecord, type StoredEvent } from '@flux/domain';
import type { PartitionCommit } from '@flux/core';
import { LmdbStateStore } from '../src/index.js';
import { changeKey } from '../src/state-keys.js';
import { tempDir } from './temp-dir.js';

const T0 = 1_767_000_000_000;

const commitOf = (lastOffset: number, parts: Partial<Omit<PartitionCommit, 'lastOffset'>> = {}): PartitionCommit => ({
  lastOffset,
  upserts: [],
  deletes: [],
  history: [],
  countDeltas: {},
  eventsApplied: 0,
  ...parts,
});

const stored = (entityId: string, offset: number): StoredEvent => ({
  event: { eventId: `${entityId}@${offset}`, stream: 's', source: 'test', timestamp: T0, payload: { entity_id: entityId, properties: { offset } } },
  storedAt: T0 + offset,
});

const historyAt = (entityId: string, from: number, count: number): PartitionCommit['history'][number][] =>
  Array.from({ length: count }, (_, i) => ({ entityId, offset: from + i, stored: stored(entityId, from + i) }));

describe('LmdbStateStore', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: LmdbStateStore;
  const reopen = async (): Promise<void> => {
    await store.close();
    store = LmdbStateStore.openIn(dir.path);
  };

  beforeEach(async () => {
    dir = await tempDir();
    store = LmdbStateStore.openIn(dir.path);
  });
  afterEach(async () => {
    await store.close();
    await dir.remove();
  });

  it('writes nothing of a commit that fails half-way through the transaction', async () => {
    const claim = await store.claimPartition(0);
    await store.commit(claim, commitOf(0, { upserts: [{ id: 'before', entity: { properties: {}, version: 1, lastUpdated: T0 } }] }));
    // Larger than LMDB's maximum key size (1978 bytes): the write fails inside the transaction,
    // after the first upsert, the history and the counts were already written to it.
    const tooLong = 'x'.repeat(2_100);
    const failing = commitOf(1, {
      upserts: [
        { id: 'fine', entity: { properties: { a: 1 }, version: 1, lastUpdated: T0 } },
        { id: tooLong, entity: { properties: {}, version: 1, lastUpdated: T0 } },
      ],
      deletes: ['before'],
      history: historyAt('fine', 1, 1),
      countDeltas: { ns: 1 },
      eventsApplied: 1,
    });
    await expect(store.commit(claim, failing)).rejects.toThrow();

    expect(await store.getEntity('fine')).toBeUndefined();
    expect(await store.getEntity('before')).toBeDefined();
    expect(await store.history('fine', { sinceMs: 0, limit: 10 })).toEqual([]);
    expect((await store.counts()).total).toBe(0);
    expect(await store.eventsApplied()).toBe(0);
    expect((await store.claimPartition(0)).appliedOffset).toBe(0);
  });

  it('rejects values JSON cannot encode before writing anything', async () => {
    const claim = await store.claimPartition(0);
    const commit = commitOf(0, {
      upserts: [
        { id: 'fine', entity: { properties: {}, version: 1, lastUpdated: T0 } },
        { id: 'bad', entity: { properties: { n: 1n }, version: 1, lastUpdated: T0 } },
      ],
    });
    await expect(store.commit(claim, commit)).rejects.toThrow(TypeError);
    expect(await store.getEntity('fine')).toBeUndefined();
    expect((await store.claimPartition(0)).appliedOffset).toBe(-1);
  });

  it('keeps trimming history correctly across reopens', async () => {
    let claim = await store.claimPartition(0);
    await store.commit(claim, commitOf(498, { history: historyAt('e', 0, HISTORY_MAX_PER_ENTITY - 1) }));
    await reopen();
    claim = await store.claimPartition(0);
    await store.commit(claim, commitOf(501, { history: historyAt('e', 499, 3) }));
    const kept = await store.history('e', { sinceMs: 0, limit: 1_000 });
    expect(kept).toHaveLength(HISTORY_MAX_PER_ENTITY);
    expect(kept.at(-1)).toEqual(stored('e', 2));
  });

  it('does not count a replayed history offset twice', async () => {
    const claim = await store.claimPartition(0);
    await store.commit(claim, commitOf(9, { history: historyAt('e', 0, 10) }));
    // A reducer that crashed before recording progress elsewhere may commit the same offsets again.
    await store.commit(claim, commitOf(9, { history: historyAt('e', 0, 10) }));
    await store.commit(claim, commitOf(504, { history: historyAt('e', 10, 495) }));
    const kept = await store.history('e', { sinceMs: 0, limit: 1_000 });
    expect(kept).toHaveLength(HISTORY_MAX_PER_ENTITY);
    expect(kept.at(-1)).toEqual(stored('e', 5));
    expect(kept[0]).toEqual(stored('e', 504));
  });

  it('keeps the history of ids that extend one another apart', async () => {
    const claim = await store.claimPartition(0);
    await store.commit(claim, commitOf(2, { history: [...historyAt('a', 0, 1), ...historyAt('a/b', 1, 1), ...historyAt('ab', 2, 1)] }));
    expect(await store.history('a', { sinceMs: 0, limit: 10 })).toEqual([stored('a', 0)]);
    expect(await store.history('a/b', { sinceMs: 0, limit: 10 })).toEqual([stored('a/b', 1)]);
  });

  it('removes a count key that drops to zero', async () => {
    const claim = await store.claimPartition(0);
    await store.commit(claim, commitOf(0, { countDeltas: { ns: 2 } }));
    await store.commit(claim, commitOf(1, { countDeltas: { ns: -2 } }));
    expect(await store.counts()).toEqual({ total: 0, byNamespace: {} });
  });

  it('lands the commits of many partitions made at once, and a fenced one holds up none after it', async () => {
    const claims = await Promise.all(Array.from({ length: 8 }, (_, partition) => store.claimPartition(partition)));
    // A newer claim: the commit under claims[3] is fenced.
    await store.claimPartition(3);
    // 300 events each: more than one write transaction takes, so later commits wait for earlier ones.
    const commits = claims.map((claim) =>
      store.commit(
        claim,
        commitOf(299, {
          upserts: [{ id: `p${claim.partition}`, entity: { properties: {}, version: 1, lastUpdated: T0 } }],
          history: historyAt(`p${claim.partition}`, 0, 300),
        }),
      ),
    );
    const outcomes = await Promise.allSettled(commits);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', ...Array(4).fill('fulfilled')]);
    for (const partition of [0, 1, 2, 4, 5, 6, 7]) expect(await store.getEntity(`p${partition}`)).toBeDefined();
    expect(await store.getEntity('p3')).toBeUndefined();
    await store.commit(claims[0]!, commitOf(300, { upserts: [{ id: 'after', entity: { properties: {}, version: 1, lastUpdated: T0 } }] }));
    expect(await store.getEntity('after')).toBeDefined();
  });

  it('replays changes a store kept one per entry, as it did before it kept one entry per commit', async () => {
    const change = (offset: number): ChangeRecord => ({
      partition: 0,
      offset,
      kind: 'upsert',
      entityId: 'e',
      changes: [{ property: 'n', value: offset }],
      version: offset + 1,
      timestamp: T0 + offset,
      source: 'test',
    });
    const claim = await store.claimPartition(0);
    await store.commit(claim, commitOf(1, { changes: [change(0), change(1)] }));
    await store.close();
    // Two entries in the earlier layout: one change each, keyed by its own offset.
    const root = open({ path: join(dir.path, 'state'), maxDbs: 12 });
    const changes = root.openDB<string, Buffer>('changes', { encoding: 'string', keyEncoding: 'binary' });
    await changes.put(changeKey(0, 2), JSON.stringify(change(2)));
    await changes.put(changeKey(0, 3), JSON.stringify(change(3)));
    await root.close();
    store = LmdbStateStore.openIn(dir.path);

    const page = await store.replayAfter(0, 0, 10);
    expect(page.complete).toBe(true);
    expect(page.records.map((record) => record.offset)).toEqual([1, 2, 3]);
    const first = await store.replayAfter(0, -1, 3);
    expect(first.records.map((record) => record.offset)).toEqual([0, 1, 2]);
    expect(first.next).toBe(2);
  });
});
