import calculateSlot from 'cluster-key-slot';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareIds, ErrorCode, HISTORY_MAX_PER_ENTITY, type Properties, type StoredEntity, type StoredEvent } from '@flux/domain';
import type { PartitionClaim, PartitionCommit } from '@flux/core';
import { describeWithRedis } from '@flux/core/testing';
import { CHANGE_STREAM_MAX_OFFSETS, encodeCommit, partitionKeys, RedisStateStore } from '../src/index.js';
import { connect, deleteKeysWithPrefix, monitorRedis, uniquePrefix } from './support.js';

const T0 = 1_767_000_000_000;
const PARTITIONS = 6;

const entity = (properties: Properties, version = 1): StoredEntity => ({ properties, version, lastUpdated: T0 });

const storedEvent = (entityId: string, offset: number, properties: Properties = { seq: offset }): StoredEvent => ({
  event: {
    eventId: `${entityId}@${offset}`,
    stream: 'adapter.test',
    source: 'redis-test',
    timestamp: T0,
    payload: { entity_id: entityId, properties },
  },
  storedAt: T0 + offset,
});

const commitOf = (lastOffset: number, parts: Partial<Omit<PartitionCommit, 'lastOffset'>> = {}): PartitionCommit => ({
  lastOffset,
  upserts: parts.upserts ?? [],
  deletes: parts.deletes ?? [],
  history: parts.history ?? [],
  countDeltas: parts.countDeltas ?? {},
  eventsApplied: parts.eventsApplied ?? 0,
});

const fencedOrUndefined = (promise: Promise<void>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describeWithRedis('RedisStateStore (adapter)', (url) => {
  let prefix: string;
  let client: Redis;
  let store: RedisStateStore;
  const extraClients: Redis[] = [];

  const anotherStore = async (): Promise<RedisStateStore> => {
    const other = await connect(url);
    extraClients.push(other);
    return new RedisStateStore({ client: other, partitionCount: PARTITIONS, keyPrefix: prefix });
  };

  beforeEach(async () => {
    prefix = uniquePrefix();
    client = await connect(url);
    store = new RedisStateStore({ client, partitionCount: PARTITIONS, keyPrefix: prefix });
  });

  afterEach(async () => {
    await Promise.all(extraClients.splice(0).map((other) => other.quit()));
    await deleteKeysWithPrefix(client, prefix);
    await client.quit();
  });

  describe('fencing', () => {
    it('fences inside the script: a stale commit queued right behind a new claim writes nothing', async () => {
      const stale = await store.claimPartition(2);
      await store.commit(stale, commitOf(0, { upserts: [{ id: 'kept', entity: entity({ v: 1 }) }], countDeltas: { ns: 1 }, eventsApplied: 1 }));
      // The new owner uses another store on the SAME connection, so Redis runs the claim first;
      // both commands are on the wire before any reply, so no client-side check could have
      // seen the new epoch: only the script's check can refuse the commit.
      const rival = new RedisStateStore({ client, partitionCount: PARTITIONS, keyPrefix: prefix });
      const claimed = rival.claimPartition(2);
      const attempt = fencedOrUndefined(
        store.commit(
          stale,
          commitOf(1, { upserts: [{ id: 'ghost', entity: entity({}) }], deletes: ['kept'], countDeltas: { ns: 5 }, eventsApplied: 9 }),
        ),
      );
      const [current, error] = await Promise.all([claimed, attempt]);
      expect(error).toMatchObject({ code: ErrorCode.Fenced });
      expect(current.appliedOffset).toBe(0);
      expect(await store.getEntity('ghost')).toBeUndefined();
      expect(await store.getEntity('kept')).toEqual(entity({ v: 1 }));
      expect((await store.counts()).byNamespace).toEqual({ ns: 1 });
      expect(await store.eventsApplied()).toBe(1);
    });

    it('lets exactly one side win when a commit races a new claim from another process', async () => {
      const rival = await anotherStore();
      for (let round = 0; round < 40; round++) {
        const id = `race-${round}`;
        const claim = await store.claimPartition(1);
        // Two connections: which command Redis runs first is up to the race.
        const [outcome, next] = await Promise.all([
          fencedOrUndefined(store.commit(claim, commitOf(round, { upserts: [{ id, entity: entity({ round }) }], eventsApplied: 1 }))),
          rival.claimPartition(1),
        ]);
        if (outcome === undefined) {
          // The commit ran first: the new owner resumes after it.
          expect(next.appliedOffset).toBe(round);
          expect(await store.getEntity(id)).toEqual(entity({ round }));
        } else {
          // The claim ran first: the commit was refused whole.
          expect(outcome).toMatchObject({ code: ErrorCode.Fenced });
          expect(next.appliedOffset).toBe(round - 1);
          expect(await store.getEntity(id)).toBeUndefined();
          // The new owner applies it instead (as a restarted reducer would).
          await rival.commit(next, commitOf(round, { upserts: [{ id, entity: entity({ round }) }], eventsApplied: 1 }));
        }
      }
      expect(await store.eventsApplied()).toBe(40);
    });
  });

  describe('atomicity', () => {
    it('writes nothing when a key of the commit cannot take its write', async () => {
      const claim = await store.claimPartition(0);
      await store.commit(claim, commitOf(0, { upserts: [{ id: 'before', entity: entity({}) }], countDeltas: { ns: 1 }, eventsApplied: 1 }));
      // A history key holding a string: LPUSH would fail after the entity writes, were the key
      // types not checked before the first write.
      const keys = partitionKeys(prefix, 0);
      await client.set(keys.history('victim'), 'not a list');
      const error = await fencedOrUndefined(
        store.commit(
          claim,
          commitOf(1, {
            upserts: [
              { id: 'victim', entity: entity({ a: 1 }) },
              { id: 'other', entity: entity({}) },
            ],
            deletes: ['before'],
            history: [
              { entityId: 'other', offset: 1, stored: storedEvent('other', 1) },
              { entityId: 'victim', offset: 1, stored: storedEvent('victim', 1) },
            ],
            countDeltas: { ns: 1 },
            eventsApplied: 2,
          }),
        ),
      );
      expect(error).toMatchObject({ code: ErrorCode.Internal });
      expect(await store.getEntity('before')).toEqual(entity({}));
      expect(await store.getEntity('victim')).toBeUndefined();
      expect(await store.getEntity('other')).toBeUndefined();
      expect(await store.history('other', { sinceMs: 0, limit: 10 })).toEqual([]);
      expect((await store.counts()).byNamespace).toEqual({ ns: 1 });
      expect(await store.eventsApplied()).toBe(1);
      expect((await store.claimPartition(0)).appliedOffset).toBe(0);
      expect(await client.xlen(keys.changes)).toBe(1);
    });

    it('rejects a commit JSON cannot encode before anything reaches Redis', async () => {
      const claim = await store.claimPartition(0);
      const unencodable = { properties: { big: 1n }, version: 1, lastUpdated: T0 } as unknown as StoredEntity;
      await expect(
        store.commit(
          claim,
          commitOf(0, {
            upserts: [
              { id: 'a', entity: entity({}) },
              { id: 'b', entity: unencodable },
            ],
          }),
        ),
      ).rejects.toThrow();
      await expect(store.commit(claim, commitOf(0, { countDeltas: { ns: 0.5 } }))).rejects.toThrow(RangeError);
      expect(await store.getEntity('a')).toBeUndefined();
      expect((await store.claimPartition(0)).appliedOffset).toBe(-1);
    });

    it('ignores a resent commit whose offset the partition already reflects', async () => {
      const claim = await store.claimPartition(3);
      const commit = commitOf(7, {
        upserts: [{ id: 'once', entity: entity({ n: 1 }) }],
        history: [{ entityId: 'once', offset: 7, stored: storedEvent('once', 7) }],
        countDeltas: { ns: 1 },
        eventsApplied: 1,
      });
      await store.commit(claim, commit);
      await store.commit(claim, commit); // as ioredis would resend it after a reconnect
      await store.commit(claim, commitOf(6, { countDeltas: { ns: 1 }, eventsApplied: 1 }));
      expect((await store.counts()).byNamespace).toEqual({ ns: 1 });
      expect(await store.eventsApplied()).toBe(1);
      expect(await store.history('once', { sinceMs: 0, limit: 10 })).toHaveLength(1);
      expect((await store.claimPartition(3)).appliedOffset).toBe(7);
    });
  });

  describe('key layout', () => {
    it('keeps every key a commit touches in the hash slot of its partition', async () => {
      const touched: Buffer[] = [];
      const commands: string[] = [];
      const marker = `${prefix}monitor-marker`;
      let markerSeen!: () => void;
      const sawMarker = new Promise<void>((resolve) => (markerSeen = resolve));
      const ours = (arg: Buffer): boolean => arg.toString('latin1').startsWith(prefix);
      const monitor = await monitorRedis(url, (args) => {
        if (args.some((arg) => arg.toString('latin1') === marker)) return markerSeen();
        if (!args.some(ours)) return;
        commands.push(args[0]!.toString().toLowerCase());
        touched.push(...args.filter(ours));
      });
      try {
        const claim = await store.claimPartition(4);
        const ids = ['ns/a', 'ns/{b}', 'ns/日本', '__proto__', 'x}{y'];
        await store.commit(
          claim,
          commitOf(3, {
            upserts: ids.map((id) => ({ id, entity: entity({ id }) })),
            deletes: ['gone'],
            history: ids.map((id, i) => ({ entityId: id, offset: i, stored: storedEvent(id, i) })),
            countDeltas: { ns: 3, '': 1 },
            eventsApplied: 5,
          }),
        );
        // MONITOR reports commands in execution order: once it shows the marker, it has shown
        // everything the commit did.
        await client.exists(marker);
        await sawMarker;
      } finally {
        monitor.stop();
      }
      expect(touched.map((key) => key.toString('utf8'))).toContain(partitionKeys(prefix, 4).history('ns/日本'));
      const slot = calculateSlot(`{p4}`);
      // The keys declared to the scripts and every key the scripts' own commands used.
      expect(commands.filter((command) => command === 'lpush')).toHaveLength(5);
      expect(commands).toContain('xadd');
      expect(new Set(touched.map((key) => calculateSlot(key)))).toEqual(new Set([slot]));

      // The stored keys agree, and another partition's keys sit elsewhere.
      const stored: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        stored.push(...keys);
      } while (cursor !== '0');
      expect(stored.length).toBe(5 + 5); // meta, entities, ids, counts, changes + 5 history lists
      expect(calculateSlot.generateMulti(stored)).toBe(slot);
      expect(calculateSlot(partitionKeys(prefix, 5).meta)).not.toBe(slot);
    });

    it('declares every key of a commit to the script, all in one slot', () => {
      const claim: PartitionClaim = { partition: 17, epoch: 3, appliedOffset: 9 };
      const { keys } = encodeCommit(prefix, claim, commitOf(10, { history: [{ entityId: '{p1}', offset: 10, stored: storedEvent('{p1}', 10) }] }));
      expect(keys).toContain(`${prefix}{p17}:h:{p1}`);
      expect(calculateSlot.generateMulti(keys)).toBe(calculateSlot('{p17}'));
    });

    it('refuses a key prefix with braces, which would replace the hash tags', () => {
      expect(() => new RedisStateStore({ client, partitionCount: 1, keyPrefix: 'a{b}:' })).toThrow(RangeError);
    });
  });

  describe('plain data', () => {
    it('keeps __proto__ and constructor as ids, properties and count keys', async () => {
      const properties = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"hasOwnProperty":1}') as Properties;
      const ids = ['__proto__', 'constructor', 'hasOwnProperty'];
      for (const id of ids) {
        const home = store.homePartition(id);
        const claim = await store.claimPartition(home);
        const deltas = Object.fromEntries([[id, 1]]);
        await store.commit(
          claim,
          commitOf(claim.appliedOffset + 1, { upserts: [{ id, entity: entity(properties) }], countDeltas: deltas, eventsApplied: 1 }),
        );
      }
      for (const id of ids) {
        const loaded = await store.getEntity(id);
        expect(JSON.stringify(loaded?.properties)).toBe(JSON.stringify(properties));
        expect(Object.getPrototypeOf(loaded!.properties)).toBe(Object.prototype);
      }
      const counts = await store.counts();
      expect(Object.getPrototypeOf(counts.byNamespace)).toBe(Object.prototype);
      for (const id of ids) expect(Object.hasOwn(counts.byNamespace, id) && counts.byNamespace[id]).toBe(1);
      expect(counts.total).toBe(3);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      expect((await store.listEntities({ prefix: '', limit: 10 })).entities.map((e) => e.id)).toEqual([...ids].sort(compareIds));
    });
  });

  describe('partitions', () => {
    it('lists and pages across partitions in UTF-8 byte order', async () => {
      const all = Array.from(
        { length: 60 },
        (_, i) => `ns${i % 3}/${String.fromCodePoint(0x61 + (i % 26))}${i}${i % 7 === 0 ? '😀' : i % 5 === 0 ? 'é' : ''}`,
      );
      const byPartition = new Map<number, string[]>();
      for (const id of all) {
        const home = store.homePartition(id);
        byPartition.set(home, [...(byPartition.get(home) ?? []), id]);
      }
      expect(byPartition.size).toBeGreaterThan(3);
      for (const [partition, ids] of byPartition) {
        const claim = await store.claimPartition(partition);
        await store.commit(claim, commitOf(0, { upserts: ids.map((id) => ({ id, entity: entity({ id }) })), eventsApplied: ids.length }));
      }
      expect(await store.eventsApplied()).toBe(60);
      const expected = all.filter((id) => id.startsWith('ns1/')).sort(compareIds);
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.listEntities({ prefix: 'ns1/', limit: 7, ...(after === undefined ? {} : { after }) });
        seen.push(...page.entities.map((e) => e.id));
        for (const { id, entity: loaded } of page.entities) expect(loaded.properties).toEqual({ id });
        if (page.lastId === undefined) break;
        after = page.lastId;
      }
      expect(seen).toEqual(expected);
      expect((await store.listEntities({ prefix: '', limit: 1000 })).entities.map((e) => e.id)).toEqual([...all].sort(compareIds));
    });

    it('serves a shard only its own partitions, so shards summed count each partition once', async () => {
      const ids = Array.from({ length: 40 }, (_, i) => `ns${i % 2}/item-${i}`);
      const byPartition = new Map<number, string[]>();
      for (const id of ids) byPartition.set(store.homePartition(id), [...(byPartition.get(store.homePartition(id)) ?? []), id]);
      for (const [partition, own] of byPartition) {
        const claim = await store.claimPartition(partition);
        await store.commit(
          claim,
          commitOf(0, {
            upserts: own.map((id) => ({ id, entity: entity({ id }) })),
            history: own.map((id, i) => ({ entityId: id, offset: i, stored: storedEvent(id, i) })),
            countDeltas: Object.fromEntries(['ns0', 'ns1'].map((ns) => [ns, own.filter((id) => id.startsWith(`${ns}/`)).length])),
            eventsApplied: own.length,
          }),
        );
      }
      const even = store.forPartitions([0, 2, 4]);
      const odd = store.forPartitions([5, 3, 1, 1]);
      const inEven = ids.filter((id) => store.homePartition(id) % 2 === 0).sort(compareIds);
      expect((await even.listEntities({ prefix: '', limit: 100 })).entities.map((e) => e.id)).toEqual(inEven);
      const [evenCounts, oddCounts, all] = await Promise.all([even.counts(), odd.counts(), store.counts()]);
      expect(evenCounts.total).toBe(inEven.length);
      expect(evenCounts.total + oddCounts.total).toBe(all.total);
      expect((evenCounts.byNamespace['ns0'] ?? 0) + (oddCounts.byNamespace['ns0'] ?? 0)).toBe(all.byNamespace['ns0']);
      expect((await even.eventsApplied()) + (await odd.eventsApplied())).toBe(40);
      const oddId = ids.find((id) => store.homePartition(id) % 2 === 1)!;
      expect(await odd.getEntity(oddId)).toEqual(entity({ id: oddId }));
      expect(await even.getEntity(oddId)).toBeUndefined();
      expect(await odd.history(oddId, { sinceMs: 0, limit: 5 })).toHaveLength(1);
      expect(await even.history(oddId, { sinceMs: 0, limit: 5 })).toEqual([]);
      expect(() => store.forPartitions([PARTITIONS])).toThrow(RangeError);
    });

    it('reads an entity from its home partition and finds one committed elsewhere', async () => {
      const id = 'dawn-coral/sensor-01';
      const home = store.homePartition(id);
      const elsewhere = (home + 1) % PARTITIONS;
      const claim = await store.claimPartition(elsewhere);
      await store.commit(
        claim,
        commitOf(0, {
          upserts: [{ id, entity: entity({ where: 'elsewhere' }) }],
          history: [{ entityId: id, offset: 0, stored: storedEvent(id, 0) }],
        }),
      );
      expect(await store.getEntity(id)).toEqual(entity({ where: 'elsewhere' }));
      expect(await store.history(id, { sinceMs: 0, limit: 5 })).toEqual([storedEvent(id, 0)]);
      expect(await store.getEntity('nowhere')).toBeUndefined();
      expect(await store.history('nowhere', { sinceMs: 0, limit: 5 })).toEqual([]);
    });

    it('rejects partitions outside 0..P-1', async () => {
      await expect(store.claimPartition(PARTITIONS)).rejects.toThrow(RangeError);
      await expect(store.loadEntities(-1, ['a'])).rejects.toThrow(RangeError);
      await expect(store.commit({ partition: 1.5, epoch: 1, appliedOffset: -1 }, commitOf(0))).rejects.toThrow(RangeError);
    });
  });

  describe('history', () => {
    it('reads past a window that filters the newest entries out, up to the bound', async () => {
      const claim = await store.claimPartition(0);
      const id = 'h/1';
      // 300 old-looking (storedAt far back) after 200 normal ones: the newest 300 are filtered out.
      const normal = Array.from({ length: 200 }, (_, i) => ({ entityId: id, offset: i, stored: storedEvent(id, i) }));
      const stepped = Array.from({ length: 300 }, (_, i) => ({
        entityId: id,
        offset: 200 + i,
        stored: { ...storedEvent(id, 200 + i), storedAt: 5 },
      }));
      await store.commit(claim, commitOf(499, { history: [...normal, ...stepped] }));
      const recent = await store.history(id, { sinceMs: T0, limit: 50 });
      expect(recent.map((e) => e.storedAt)).toEqual(Array.from({ length: 50 }, (_, i) => T0 + 199 - i));
      expect(await store.history(id, { sinceMs: 0, limit: HISTORY_MAX_PER_ENTITY + 10 })).toHaveLength(HISTORY_MAX_PER_ENTITY);
    });
  });

  describe('loading after another owner wrote', () => {
    it('loads what the newest owner committed, after a refused commit and after a new claim', async () => {
      const claim = await store.claimPartition(4);
      await store.commit(claim, commitOf(0, { upserts: [{ id: 'e', entity: entity({ owner: 'first' }) }] }));
      const rival = await anotherStore();
      const rivalClaim = await rival.claimPartition(4);
      await rival.commit(rivalClaim, commitOf(1, { upserts: [{ id: 'e', entity: entity({ owner: 'rival' }, 2) }] }));

      // The stale owner's commit is refused, and changes nothing.
      await expect(store.commit(claim, commitOf(2, { upserts: [{ id: 'e', entity: entity({ owner: 'stale' }, 2) }] }))).rejects.toMatchObject({
        code: ErrorCode.Fenced,
      });
      expect((await store.loadEntities(4, ['e'])).get('e')).toEqual(entity({ owner: 'rival' }, 2));

      await rival.commit(rivalClaim, commitOf(3, { upserts: [{ id: 'e', entity: entity({ owner: 'rival' }, 3) }] }));
      await store.claimPartition(4);
      expect((await store.loadEntities(4, ['e'])).get('e')).toEqual(entity({ owner: 'rival' }, 3));
    });
  });

  describe('change stream', () => {
    it('records one summary per changed entity at its position, for resuming subscribers', async () => {
      const claim = await store.claimPartition(2);
      await store.commit(
        claim,
        commitOf(4, {
          upserts: [
            { id: 'a', entity: entity({}, 3) },
            { id: 'b', entity: entity({}, 1) },
          ],
          deletes: ['c'],
          history: [
            { entityId: 'a', offset: 1, stored: storedEvent('a', 1) },
            { entityId: 'c', offset: 2, stored: storedEvent('c', 2, { __deleted__: true }) },
            { entityId: 'b', offset: 3, stored: storedEvent('b', 3) },
            { entityId: 'a', offset: 4, stored: storedEvent('a', 4) },
          ],
        }),
      );
      await store.commit(
        claim,
        commitOf(6, { deletes: ['a'], history: [{ entityId: 'a', offset: 6, stored: storedEvent('a', 6, { __deleted__: true }) }] }),
      );

      const everything = await store.changesAfter(2, -1);
      expect(everything.complete).toBe(true);
      expect(everything.changes).toEqual([
        { partition: 2, offset: 2, commitOffset: 4, kind: 'delete', entityId: 'c' },
        { partition: 2, offset: 3, commitOffset: 4, kind: 'upsert', entityId: 'b', version: 1 },
        { partition: 2, offset: 4, commitOffset: 4, kind: 'upsert', entityId: 'a', version: 3 },
        { partition: 2, offset: 6, commitOffset: 6, kind: 'delete', entityId: 'a' },
      ]);
      // A subscriber that saw offset 3 resumes with what came after it.
      expect((await store.changesAfter(2, 3)).changes.map((c) => c.offset)).toEqual([4, 6]);
      expect((await store.changesAfter(2, 6)).changes).toEqual([]);
      expect(await store.changesAfter(5, -1)).toEqual({ changes: [], complete: true });
    });

    it('keeps a rejected event in the history only: it makes no change summary, and does not hide a real one', async () => {
      const claim = await store.claimPartition(3);
      const rejected = (offset: number, properties: Properties): StoredEvent => ({
        ...storedEvent('a', offset, properties),
        offset,
        rejected: { code: 'version_conflict', currentVersion: 1 },
      });
      await store.commit(
        claim,
        commitOf(3, {
          upserts: [{ id: 'a', entity: entity({ x: 1 }, 1) }],
          history: [
            { entityId: 'a', offset: 1, stored: { ...storedEvent('a', 1, { x: 1 }), offset: 1, version: 1 } },
            // A rejected tombstone and removal after it: neither deleted nor removed anything.
            { entityId: 'a', offset: 2, stored: rejected(2, { __deleted__: true }) },
            { entityId: 'a', offset: 3, stored: rejected(3, { x: null }) },
          ],
          eventsApplied: 1,
        }),
      );
      await store.commit(
        claim,
        commitOf(4, {
          history: [
            { entityId: 'b', offset: 4, stored: { ...storedEvent('b', 4), offset: 4, rejected: { code: 'version_conflict', currentVersion: 0 } } },
          ],
        }),
      );
      expect((await store.changesAfter(3, -1)).changes).toEqual([
        { partition: 3, offset: 1, commitOffset: 3, kind: 'upsert', entityId: 'a', version: 1 },
      ]);
      const history = await store.history('a', { sinceMs: 0, limit: 10 });
      expect(history.map((entry) => [entry.offset, entry.version, entry.rejected?.currentVersion])).toEqual([
        [3, undefined, 1],
        [2, undefined, 1],
        [1, 1, undefined],
      ]);
      expect(await store.history('b', { sinceMs: 0, limit: 10 })).toHaveLength(1);
      expect(await store.getEntity('b')).toBeUndefined();
      expect(await store.position(3)).toBe(4);
    });

    it('stays bounded by log offsets and says when it no longer reaches back to a position', async () => {
      const claim = await store.claimPartition(0);
      // Commits of 100 offsets each; the stream keeps about the last CHANGE_STREAM_MAX_OFFSETS.
      const step = 100;
      // Approximate trimming drops whole stream nodes (100 small entries each): overshoot by more.
      const commits = CHANGE_STREAM_MAX_OFFSETS / step + 250;
      for (let c = 0; c < commits; c++) {
        const last = (c + 1) * step - 1;
        await store.commit(
          claim,
          commitOf(last, {
            upserts: [{ id: `e${c}`, entity: entity({}) }],
            history: [{ entityId: `e${c}`, offset: last, stored: storedEvent(`e${c}`, last) }],
          }),
        );
      }
      const length = await client.xlen(partitionKeys(prefix, 0).changes);
      expect(length).toBeLessThan(commits);
      expect(length).toBeGreaterThanOrEqual(CHANGE_STREAM_MAX_OFFSETS / step);
      expect((await store.changesAfter(0, -1, 10)).complete).toBe(false);
      const lastOffset = commits * step - 1;
      expect(await store.changesAfter(0, lastOffset - step)).toEqual({
        complete: true,
        changes: [{ partition: 0, offset: lastOffset, commitOffset: lastOffset, kind: 'upsert', entityId: `e${commits - 1}`, version: 1 }],
      });
    });

    it('records a delete before the upsert of an entity re-created within a commit, and the properties a commit removed', async () => {
      const claim = await store.claimPartition(3);
      await store.commit(
        claim,
        commitOf(5, {
          upserts: [
            { id: 'r', entity: entity({ fresh: 1 }) },
            { id: 'n', entity: entity({ kept: 2, back: 3 }, 3) },
          ],
          history: [
            { entityId: 'r', offset: 1, stored: storedEvent('r', 1, { __deleted__: true }) },
            { entityId: 'n', offset: 2, stored: storedEvent('n', 2, { gone: null, back: null }) },
            { entityId: 'n', offset: 3, stored: storedEvent('n', 3, { back: 3 }) },
            { entityId: 'r', offset: 4, stored: storedEvent('r', 4, { fresh: 1 }) },
            { entityId: 'n', offset: 5, stored: storedEvent('n', 5, { kept: 2 }) },
          ],
        }),
      );
      expect((await store.changesAfter(3, -1)).changes).toEqual([
        { partition: 3, offset: 1, commitOffset: 5, kind: 'delete', entityId: 'r' },
        { partition: 3, offset: 4, commitOffset: 5, kind: 'upsert', entityId: 'r', version: 1 },
        // `back` was removed and set again: only `gone` is missing from the entity.
        { partition: 3, offset: 5, commitOffset: 5, kind: 'upsert', entityId: 'n', version: 3, removed: ['gone'] },
      ]);
    });

    it('pages by summaries: a commit larger than the limit continues from the last offset returned', async () => {
      const claim = await store.claimPartition(1);
      const history = Array.from({ length: 5 }, (_, i) => ({ entityId: `k${i}`, offset: i, stored: storedEvent(`k${i}`, i) }));
      await store.commit(claim, commitOf(4, { upserts: history.map(({ entityId }) => ({ id: entityId, entity: entity({}) })), history }));
      const first = await store.changesAfter(1, -1, 3);
      expect(first.changes.map((c) => c.offset)).toEqual([0, 1, 2]);
      expect((await store.changesAfter(1, 2, 3)).changes.map((c) => c.entityId)).toEqual(['k3', 'k4']);
    });
  });

  describe('catching up (ChangeCatchUp)', () => {
    const commitUpsert = async (
      claim: PartitionClaim,
      offset: number,
      id: string,
      properties: Properties,
      version: number,
      eventProperties: Properties = properties,
    ): Promise<void> =>
      store.commit(
        claim,
        commitOf(offset, {
          upserts: [{ id, entity: entity(properties, version) }],
          history: [{ entityId: id, offset, stored: storedEvent(id, offset, eventProperties) }],
        }),
      );

    it('knows where a partition stands', async () => {
      expect(await store.position(4)).toBe(-1);
      const claim = await store.claimPartition(4);
      await commitUpsert(claim, 7, 'a', { v: 1 }, 1);
      expect(await store.position(4)).toBe(7);
    });

    it('answers the entities changed after a position as they are now, with what they lost meanwhile', async () => {
      const claim = await store.claimPartition(4);
      await commitUpsert(claim, 0, 'kept', { v: 0 }, 1);
      await commitUpsert(claim, 1, 'changed', { a: 1, b: 1 }, 1);
      await commitUpsert(claim, 2, 'recreated', { old: 1 }, 1);
      // A subscriber saw everything up to offset 2; then:
      await commitUpsert(claim, 3, 'changed', { a: 2 }, 2, { a: 2, b: null });
      await store.commit(
        claim,
        commitOf(4, {
          deletes: ['recreated'],
          history: [{ entityId: 'recreated', offset: 4, stored: storedEvent('recreated', 4, { __deleted__: true }) }],
        }),
      );
      await commitUpsert(claim, 5, 'recreated', { fresh: 1 }, 1);
      await store.commit(
        claim,
        commitOf(6, { deletes: ['kept'], history: [{ entityId: 'kept', offset: 6, stored: storedEvent('kept', 6, { __deleted__: true }) }] }),
      );

      const page = await store.changedAfter(4, 2, 100);
      expect(page).toEqual({
        position: 6,
        complete: true,
        entities: [
          { id: 'changed', entity: entity({ a: 2 }, 2), deleted: false, removed: ['b'] },
          { id: 'recreated', entity: entity({ fresh: 1 }), deleted: true, removed: [] },
          { id: 'kept', entity: undefined, deleted: true, removed: [] },
        ],
      });
      expect((await store.changedAfter(4, 6, 100)).entities).toEqual([]);
    });

    it('pages: `next` continues after the last change of a full page', async () => {
      const claim = await store.claimPartition(5);
      for (let offset = 0; offset < 5; offset++) await commitUpsert(claim, offset, `k${offset}`, { v: offset }, 1);
      const first = await store.changedAfter(5, -1, 3);
      expect(first.entities.map((e) => e.id)).toEqual(['k0', 'k1', 'k2']);
      expect(first.next).toBe(2);
      const second = await store.changedAfter(5, first.next!, 3);
      expect(second.entities.map((e) => e.id)).toEqual(['k3', 'k4']);
      expect(second.next).toBeUndefined();
    });
  });
});
