import { describe, expect, it } from 'vitest';
import {
  compareIds,
  compileFilter,
  ErrorCode,
  FILTER_SCAN_MAX,
  HISTORY_MAX_PER_ENTITY,
  isFluxError,
  type EntityQuery,
  type Properties,
  type StoredEntity,
  type StoredEvent,
} from '@flux/domain';
import type { EntityPage, EntityRecord, PartitionCommit, StateStore } from '../ports/state-store.js';
import { useContractFixture, type ContractFixture } from './fixture.js';

export type StateStoreFactory = () => Promise<ContractFixture<StateStore>>;

const T0 = 1_767_000_000_000;

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

const entity = (properties: Properties, version = 1, lastUpdated = T0): StoredEntity => ({ properties, version, lastUpdated });

const storedEvent = (entityId: string, storedAt: number, properties: Properties = { seq: storedAt }): StoredEvent => ({
  event: {
    eventId: `${entityId}@${storedAt}`,
    stream: 'contract.test',
    source: 'contract-suite',
    timestamp: storedAt - 5,
    payload: { entity_id: entityId, properties },
  },
  storedAt,
});

type CommitParts = Partial<Omit<PartitionCommit, 'lastOffset'>>;

const commitOf = (lastOffset: number, parts: CommitParts = {}): PartitionCommit => ({
  lastOffset,
  upserts: parts.upserts ?? [],
  deletes: parts.deletes ?? [],
  history: parts.history ?? [],
  countDeltas: parts.countDeltas ?? {},
  eventsApplied: parts.eventsApplied ?? 0,
  ...(parts.expiries === undefined ? {} : { expiries: parts.expiries }),
});

const upserts = (...ids: string[]): EntityRecord[] => ids.map((id) => ({ id, entity: entity({ name: id }) }));

/** History entries for `entityId` at consecutive offsets from `firstOffset`, stored at `T0 + offset`. */
const historyEntries = (entityId: string, firstOffset: number, count: number): PartitionCommit['history'][number][] =>
  Array.from({ length: count }, (_, i) => {
    const offset = firstOffset + i;
    return { entityId, offset, stored: storedEvent(entityId, T0 + offset) };
  });

const ids = (page: { entities: readonly EntityRecord[] }): string[] => page.entities.map((e) => e.id);

/** A record parsed from JSON: `__proto__` is an own data property, as the contract requires. */
const plainData = (json: string): Properties => JSON.parse(json) as Properties;

/**
 * The behaviour every StateStore adapter (embedded LMDB, Redis) must show. `factory` creates a
 * fixture whose store starts empty.
 */
export function describeStateStoreContract(name: string, factory: StateStoreFactory): void {
  describe(`StateStore contract: ${name}`, () => {
    const fixture = useContractFixture(factory, (store) => store.close());

    describe('claims and commits', () => {
      it('claims a fresh partition at appliedOffset -1 and bumps the epoch on every claim', async () => {
        const store = await fixture.open();
        const first = await store.claimPartition(0);
        expect(first).toMatchObject({ partition: 0, appliedOffset: -1 });
        const second = await store.claimPartition(0);
        expect(second.partition).toBe(0);
        expect(second.appliedOffset).toBe(-1);
        expect(second.epoch).toBeGreaterThan(first.epoch);
        const other = await store.claimPartition(5);
        expect(other).toMatchObject({ partition: 5, appliedOffset: -1 });
      });

      it('reports the epoch of the newest claim, so a replaced owner can tell without committing', async () => {
        const store = await fixture.open();
        expect(await store.claimEpoch(3)).toBe(0);
        const first = await store.claimPartition(3);
        expect(await store.claimEpoch(3)).toBe(first.epoch);
        const second = await store.claimPartition(3);
        expect(await store.claimEpoch(3)).toBe(second.epoch);
        expect(await store.claimEpoch(4)).toBe(0);
      });

      it('commits state together with the applied offset', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(1);
        await store.commit(claim, commitOf(4, { upserts: upserts('a/1', 'a/2'), eventsApplied: 5 }));
        expect(await store.getEntity('a/1')).toEqual(entity({ name: 'a/1' }));
        await store.commit(claim, commitOf(7, { upserts: [{ id: 'a/1', entity: entity({ name: 'renamed' }, 2, T0 + 1) }] }));
        expect(await store.getEntity('a/1')).toEqual(entity({ name: 'renamed' }, 2, T0 + 1));
        expect((await store.claimPartition(1)).appliedOffset).toBe(7);
        expect(await store.eventsApplied()).toBe(5);
      });

      it('replaces whole entities on upsert and removes deleted ones', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(0);
        await store.commit(claim, commitOf(0, { upserts: [{ id: 'x', entity: entity({ a: 1, b: 2 }) }, ...upserts('y')] }));
        await store.commit(claim, commitOf(1, { upserts: [{ id: 'x', entity: entity({ a: 3 }, 2) }] }));
        expect(await store.getEntity('x')).toEqual(entity({ a: 3 }, 2));
        await store.commit(claim, commitOf(2, { deletes: ['y', 'never-existed'] }));
        expect(await store.getEntity('y')).toBeUndefined();
        expect(ids(await store.listEntities({ prefix: '', limit: 10 }))).toEqual(['x']);
      });

      it('rejects a commit from a fenced claim with FLUX_FENCED and changes nothing', async () => {
        const store = await fixture.open();
        const stale = await store.claimPartition(3);
        await store.commit(
          stale,
          commitOf(0, { upserts: upserts('kept'), history: historyEntries('kept', 0, 1), countDeltas: { ns: 1 }, eventsApplied: 1 }),
        );
        const current = await store.claimPartition(3);

        const attempt = store.commit(
          stale,
          commitOf(1, {
            upserts: upserts('ghost'),
            deletes: ['kept'],
            history: historyEntries('ghost', 1, 1),
            countDeltas: { ns: 5, other: 1 },
            eventsApplied: 1,
          }),
        );
        const error: unknown = await attempt.then(
          () => undefined,
          (rejection: unknown) => rejection,
        );
        expect(isFluxError(error)).toBe(true);
        expect(error).toMatchObject({ code: ErrorCode.Fenced });

        expect(await store.getEntity('kept')).toEqual(entity({ name: 'kept' }));
        expect(await store.getEntity('ghost')).toBeUndefined();
        expect(await store.history('ghost', { sinceMs: 0, limit: 10 })).toEqual([]);
        expect((await store.counts()).byNamespace['ns']).toBe(1);
        expect((await store.counts()).byNamespace['other'] ?? 0).toBe(0);
        expect(await store.eventsApplied()).toBe(1);

        // The current owner still commits, and the fenced attempt left the offset untouched.
        await store.commit(current, commitOf(1, { upserts: upserts('next') }));
        expect(await store.getEntity('next')).toBeDefined();
        const after = await store.claimPartition(3);
        expect(after.appliedOffset).toBe(1);
        await expect(store.commit(current, commitOf(2))).rejects.toMatchObject({ code: ErrorCode.Fenced });
      });

      it('fences each partition on its own', async () => {
        const store = await fixture.open();
        const zero = await store.claimPartition(0);
        await store.claimPartition(1);
        await store.claimPartition(1);
        await store.commit(zero, commitOf(0, { upserts: upserts('p0') }));
        expect(await store.getEntity('p0')).toBeDefined();
      });

      it('loads the entities that exist', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(2);
        await store.commit(claim, commitOf(0, { upserts: upserts('one', 'two') }));
        const loaded = await store.loadEntities(2, ['one', 'missing', 'two']);
        expect(loaded).toBeInstanceOf(Map);
        expect(new Map(loaded)).toEqual(
          new Map([
            ['one', entity({ name: 'one' })],
            ['two', entity({ name: 'two' })],
          ]),
        );
        expect((await store.loadEntities(2, [])).size).toBe(0);
      });

      it('gives a point read as stored JSON: the entity, or nothing once deleted', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(2);
        await store.commit(claim, commitOf(0, { upserts: upserts('ns/json') }));
        const json = await store.getEntityJson('ns/json');
        expect(JSON.parse(json!)).toEqual(entity({ name: 'ns/json' }));
        expect(await store.getEntityJson('ns/none')).toBeUndefined();
        await store.commit(claim, commitOf(1, { deletes: ['ns/json'] }));
        expect(await store.getEntityJson('ns/json')).toBeUndefined();
      });

      it('loads fresh objects: merging into them changes neither the store nor a later load', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(2);
        const committed = { properties: { name: 'one' }, version: 1, lastUpdated: 1_000 };
        await store.commit(claim, commitOf(0, { upserts: [{ id: 'one', entity: committed }] }));
        committed.properties.name = 'changed after the commit';
        const first = (await store.loadEntities(2, ['one'])).get('one')!;
        (first.properties as Record<string, unknown>).name = 'merged in place';
        expect((await store.loadEntities(2, ['one'])).get('one')?.properties).toEqual({ name: 'one' });
        expect((await store.getEntity('one'))?.properties).toEqual({ name: 'one' });
      });
    });

    describe('expiry index', () => {
      const withTtl = (expiresAt: number): StoredEntity => ({ ...entity({ alive: true }), ttl: { seconds: 5, expiresAt } });

      it('keeps entities with a ttl, and their ttl, with the state', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(3);
        await store.commit(
          claim,
          commitOf(0, { upserts: [{ id: 'agent/a', entity: withTtl(T0 + 5000) }], expiries: [{ id: 'agent/a', next: T0 + 5000 }] }),
        );
        expect((await store.getEntity('agent/a'))?.ttl).toEqual({ seconds: 5, expiresAt: T0 + 5000 });
        expect(JSON.parse((await store.getEntityJson('agent/a'))!)).toEqual(withTtl(T0 + 5000));
        expect((await store.loadEntities(3, ['agent/a'])).get('agent/a')?.ttl).toEqual({ seconds: 5, expiresAt: T0 + 5000 });
      });

      it('lists the entities expired by a time, soonest first, per partition and bounded by limit', async () => {
        const store = await fixture.open();
        const three = await store.claimPartition(3);
        const four = await store.claimPartition(4);
        const records = [
          { id: 'late', at: T0 + 3000 },
          { id: 'soon', at: T0 + 1000 },
          { id: 'mid', at: T0 + 2000 },
        ];
        await store.commit(
          three,
          commitOf(0, {
            upserts: records.map(({ id, at }) => ({ id, entity: withTtl(at) })),
            expiries: records.map(({ id, at }) => ({ id, next: at })),
          }),
        );
        await store.commit(four, commitOf(0, { upserts: [{ id: 'other', entity: withTtl(T0) }], expiries: [{ id: 'other', next: T0 }] }));
        expect(await store.expiredEntities(3, T0 + 999, 10)).toEqual([]);
        expect(await store.expiredEntities(3, T0 + 2000, 10)).toEqual(['soon', 'mid']);
        expect(await store.expiredEntities(3, T0 + 5000, 2)).toEqual(['soon', 'mid']);
        expect(await store.expiredEntities(4, T0 + 5000, 10)).toEqual(['other']);
      });

      it('moves an entry when its expiry changes and drops it when the ttl is cleared or the entity deleted', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(3);
        await store.commit(
          claim,
          commitOf(0, {
            upserts: [
              { id: 'a', entity: withTtl(T0) },
              { id: 'b', entity: withTtl(T0) },
              { id: 'c', entity: withTtl(T0) },
            ],
            expiries: ['a', 'b', 'c'].map((id) => ({ id, next: T0 })),
          }),
        );
        await store.commit(
          claim,
          commitOf(1, { upserts: [{ id: 'a', entity: withTtl(T0 + 9000) }], expiries: [{ id: 'a', previous: T0, next: T0 + 9000 }] }),
        );
        await store.commit(claim, commitOf(2, { upserts: [{ id: 'b', entity: entity({}, 2) }], expiries: [{ id: 'b', previous: T0 }] }));
        await store.commit(claim, commitOf(3, { deletes: ['c'], expiries: [{ id: 'c', previous: T0 }] }));
        expect(await store.expiredEntities(3, T0 + 1000, 10)).toEqual([]);
        expect(await store.expiredEntities(3, T0 + 9000, 10)).toEqual(['a']);
      });

      it('writes nothing to the index from a fenced commit', async () => {
        const store = await fixture.open();
        const old = await store.claimPartition(3);
        await store.claimPartition(3);
        await expect(
          store.commit(old, commitOf(0, { upserts: [{ id: 'z', entity: withTtl(T0) }], expiries: [{ id: 'z', next: T0 }] })),
        ).rejects.toMatchObject({ code: ErrorCode.Fenced });
        expect(await store.expiredEntities(3, T0 + 1000, 10)).toEqual([]);
      });
    });

    describe('plain data', () => {
      it('round-trips property values and names such as __proto__ as plain data', async () => {
        const store = await fixture.open();
        const json =
          '{"__proto__":{"polluted":true},"constructor":{"prototype":1},"toString":"text","nested":{"__proto__":[1,{"a":null}]},' +
          '"unicode":"日本語 😀","number":-0.0125,"big":9007199254740991,"flag":false,"list":[1,"two",[3],{"four":4}]}';
        const properties = plainData(json);
        const claim = await store.claimPartition(0);
        await store.commit(claim, commitOf(0, { upserts: [{ id: '__proto__', entity: entity(properties, 3, T0 + 9) }] }));

        const loaded = await store.getEntity('__proto__');
        expect(loaded).toBeDefined();
        expect(JSON.stringify(loaded!.properties)).toBe(json);
        expect(Object.hasOwn(loaded!.properties, '__proto__')).toBe(true);
        expect(Object.getPrototypeOf(loaded!.properties)).toBe(Object.prototype);
        expect(loaded!.version).toBe(3);
        expect(loaded!.lastUpdated).toBe(T0 + 9);
        expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
        expect(ids(await store.listEntities({ prefix: '__', limit: 5 }))).toEqual(['__proto__']);
        const [listed] = (await store.listEntities({ prefix: '__proto__', limit: 1 })).entities;
        expect(JSON.stringify(listed?.entity.properties)).toBe(json);
      });

      it('round-trips stored events, including __proto__ properties and optional fields', async () => {
        const store = await fixture.open();
        const stored: StoredEvent = {
          event: {
            eventId: '0190f0e0-0000-7000-8000-000000000001',
            stream: 'sensors.v2',
            source: 'gateway',
            timestamp: T0,
            payload: { entity_id: 'dev/1', properties: plainData('{"__proto__":{"x":1},"temp":21.5}') },
            key: 'ordering-key',
            schema: 'sensor-v2',
          },
          storedAt: T0 + 1,
        };
        const claim = await store.claimPartition(0);
        await store.commit(claim, commitOf(0, { history: [{ entityId: 'dev/1', offset: 0, stored }] }));
        const [loaded] = await store.history('dev/1', { sinceMs: 0, limit: 10 });
        expect(JSON.stringify(loaded)).toBe(JSON.stringify(stored));
        expect(Object.hasOwn(loaded!.event.payload.properties, '__proto__')).toBe(true);
      });
    });

    describe('listEntities', () => {
      // Code points where UTF-16 order (JS's default sort) and UTF-8 byte order disagree.
      const mixed = ['b', 'B', 'a/b', 'a-b', 'a', 'é', '\uff21-fullwidth', '😀-emoji', '日本', 'z', 'a/a/a', '~'];

      it('lists ids in UTF-8 byte order', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(0);
        await store.commit(claim, commitOf(0, { upserts: upserts(...mixed) }));
        const expected = [...mixed].sort(compareIds);
        expect(expected).not.toEqual([...mixed].sort()); // the sample really tells the orders apart
        expect(ids(await store.listEntities({ prefix: '', limit: 100 }))).toEqual(expected);
      });

      it('filters by prefix', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(0);
        await store.commit(claim, commitOf(0, { upserts: upserts('ns/a', 'ns/b/c', 'ns', 'ns-other/x', 'nt/a', 'm/a', 'n1') }));
        expect(ids(await store.listEntities({ prefix: 'ns/', limit: 10 }))).toEqual(['ns/a', 'ns/b/c']);
        expect(ids(await store.listEntities({ prefix: 'n', limit: 10 }))).toEqual(['n1', 'ns', 'ns-other/x', 'ns/a', 'ns/b/c', 'nt/a']);
        expect(await store.listEntities({ prefix: 'zz', limit: 10 })).toEqual({ entities: [] });
        const [first] = (await store.listEntities({ prefix: 'ns/a', limit: 10 })).entities;
        expect(first).toEqual({ id: 'ns/a', entity: entity({ name: 'ns/a' }) });
      });

      it('pages with after and limit, setting lastId only while more remain', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(0);
        const inside = ['p/1', 'p/2', 'p/3', 'p/4', 'p/5'];
        await store.commit(claim, commitOf(0, { upserts: upserts('a', ...inside, 'q/1') }));

        const seen: string[] = [];
        let after: string | undefined;
        let pages = 0;
        for (;;) {
          const page = await store.listEntities({ prefix: 'p/', limit: 2, ...(after === undefined ? {} : { after }) });
          pages++;
          seen.push(...ids(page));
          if (page.lastId === undefined) break;
          expect(page.lastId).toBe(ids(page).at(-1));
          after = page.lastId;
        }
        expect(seen).toEqual(inside);
        expect(pages).toBe(3);

        // A page that ends exactly at the last match carries no lastId.
        const exact = await store.listEntities({ prefix: 'p/', after: 'p/3', limit: 2 });
        expect(ids(exact)).toEqual(['p/4', 'p/5']);
        expect(exact.lastId).toBeUndefined();
        const full = await store.listEntities({ prefix: 'p/', limit: 5 });
        expect(full.lastId).toBeUndefined();
      });

      it('treats after as strictly after, whether or not that id exists', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(0);
        await store.commit(claim, commitOf(0, { upserts: upserts('a', 'b', 'ba', 'c') }));
        expect(ids(await store.listEntities({ prefix: '', after: 'b', limit: 10 }))).toEqual(['ba', 'c']);
        expect(ids(await store.listEntities({ prefix: '', after: 'bb', limit: 10 }))).toEqual(['c']);
        expect(ids(await store.listEntities({ prefix: 'b', after: 'a', limit: 10 }))).toEqual(['b', 'ba']);
        expect(ids(await store.listEntities({ prefix: '', after: 'c', limit: 10 }))).toEqual([]);
      });
    });

    describe('listEntities with a filter', () => {
      /** Every page of a filtered list, following lastId to the end. */
      async function pagesOf(store: StateStore, query: Omit<EntityQuery, 'after'>): Promise<EntityPage[]> {
        const pages: EntityPage[] = [];
        let after: string | undefined;
        do {
          const page = await store.listEntities({ ...query, ...(after === undefined ? {} : { after }) });
          pages.push(page);
          after = page.lastId;
        } while (after !== undefined);
        return pages;
      }

      it('returns only matching entities, in id order, paging with after and limit', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(0);
        const records = range(0, 40).map((i) => ({
          id: `f/${String(i).padStart(2, '0')}`,
          entity: entity({ n: i, kind: i % 3 === 0 ? 'hit' : 'miss' }),
        }));
        await store.commit(claim, commitOf(0, { upserts: [...records, { id: 'g/00', entity: entity({ n: 0, kind: 'hit' }) }] }));
        const expected = records.filter((_, i) => i % 3 === 0).map((record) => record.id);

        const pages = await pagesOf(store, { prefix: 'f/', limit: 4, filter: compileFilter('kind = "hit"') });
        expect(pages.flatMap(ids)).toEqual(expected);
        expect(pages.at(-1)!.lastId).toBeUndefined();
        expect(pages[0]!.entities[0]).toEqual(records[0]);
        // Matches come from the store with their data; the prefix still applies.
        const all = await store.listEntities({ prefix: '', limit: 100, filter: compileFilter('kind = "hit" and n = 0') });
        expect(ids(all)).toEqual(['f/00', 'g/00']);
        expect(all.lastId).toBeUndefined();
        const none = await store.listEntities({ prefix: '', limit: 100, filter: compileFilter('n > 1000') });
        expect(none).toEqual({ entities: [] });
        const after = await store.listEntities({
          prefix: 'f/',
          after: 'f/30',
          limit: 100,
          filter: compileFilter('@id > "f/1" and n < 36 and kind = "hit"'),
        });
        expect(ids(after)).toEqual(['f/33']);
      });

      it(`examines at most ${FILTER_SCAN_MAX} entities per call, ending the page with where to resume`, async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(0);
        const count = FILTER_SCAN_MAX + 500;
        const records = range(0, count).map((i) => ({ id: `s/${String(i).padStart(6, '0')}`, entity: entity({ n: i }) }));
        await store.commit(claim, commitOf(0, { upserts: records }));
        const filter = compileFilter(`n = ${count - 1} or n = 0`);

        const first = await store.listEntities({ prefix: 's/', limit: 10, filter });
        expect(ids(first)).toEqual(['s/000000']);
        expect(first.lastId).toBeDefined();
        const pages = await pagesOf(store, { prefix: 's/', limit: 10, filter });
        expect(pages.length).toBeGreaterThan(1);
        expect(pages.flatMap(ids)).toEqual(['s/000000', records[count - 1]!.id]);
      });
    });

    describe('history', () => {
      it('returns events newest first, filtered by sinceMs and limit', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(0);
        await store.commit(claim, commitOf(5, { history: [...historyEntries('x', 0, 6), ...historyEntries('y', 100, 2)] }));
        await store.commit(claim, commitOf(9, { history: historyEntries('x', 6, 4) }));

        const all = await store.history('x', { sinceMs: 0, limit: 100 });
        expect(all.map((e) => e.storedAt)).toEqual(range(0, 10).map((i) => T0 + 9 - i));
        expect(all[0]).toEqual(storedEvent('x', T0 + 9));
        expect((await store.history('x', { sinceMs: T0 + 5, limit: 100 })).map((e) => e.storedAt)).toEqual([T0 + 9, T0 + 8, T0 + 7, T0 + 6, T0 + 5]);
        expect((await store.history('x', { sinceMs: 0, limit: 3 })).map((e) => e.storedAt)).toEqual([T0 + 9, T0 + 8, T0 + 7]);
        expect((await store.history('y', { sinceMs: 0, limit: 100 })).map((e) => e.event.payload.entity_id)).toEqual(['y', 'y']);
        expect(await store.history('x', { sinceMs: T0 + 100, limit: 100 })).toEqual([]);
        expect(await store.history('unknown', { sinceMs: 0, limit: 100 })).toEqual([]);
      });

      it(`keeps only the newest ${HISTORY_MAX_PER_ENTITY} events per entity`, async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(0);
        const extra = 20;
        const total = HISTORY_MAX_PER_ENTITY + extra;
        await store.commit(claim, commitOf(299, { history: [...historyEntries('busy', 0, 300), ...historyEntries('calm', 1000, 3)] }));
        await store.commit(claim, commitOf(total - 1, { history: historyEntries('busy', 300, total - 300) }));

        const kept = await store.history('busy', { sinceMs: 0, limit: total });
        expect(kept).toHaveLength(HISTORY_MAX_PER_ENTITY);
        expect(kept[0]!.storedAt).toBe(T0 + total - 1);
        expect(kept.at(-1)!.storedAt).toBe(T0 + extra);
        expect(await store.history('calm', { sinceMs: 0, limit: 10 })).toHaveLength(3);

        // The bound is on what is stored, not only on what one answer holds: when the newest
        // events fall outside the window (their storage clock stepped back), the answer must
        // not reach back past the newest HISTORY_MAX_PER_ENTITY events.
        const stepBack = 30;
        await store.commit(
          claim,
          commitOf(total - 1 + stepBack, {
            history: Array.from({ length: stepBack }, (_, i) => ({
              entityId: 'busy',
              offset: total + i,
              stored: storedEvent('busy', T0 - 1_000_000 + i),
            })),
          }),
        );
        const windowed = await store.history('busy', { sinceMs: T0, limit: HISTORY_MAX_PER_ENTITY });
        expect(windowed).toHaveLength(HISTORY_MAX_PER_ENTITY - stepBack);
        expect(windowed.at(-1)!.storedAt).toBe(T0 + extra + stepBack);

        // One commit larger than the bound is trimmed too.
        await store.commit(claim, commitOf(2000, { history: historyEntries('burst', 2000, HISTORY_MAX_PER_ENTITY + 5) }));
        const burst = await store.history('burst', { sinceMs: 0, limit: HISTORY_MAX_PER_ENTITY + 5 });
        expect(burst).toHaveLength(HISTORY_MAX_PER_ENTITY);
        expect(burst.at(-1)!.storedAt).toBe(T0 + 2005);
      });

      it('keeps history when the entity is deleted', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(0);
        await store.commit(claim, commitOf(0, { upserts: upserts('gone'), history: historyEntries('gone', 0, 1) }));
        const tombstone = storedEvent('gone', T0 + 1, { __deleted__: true });
        await store.commit(claim, commitOf(1, { deletes: ['gone'], history: [{ entityId: 'gone', offset: 1, stored: tombstone }] }));
        expect(await store.getEntity('gone')).toBeUndefined();
        expect(await store.history('gone', { sinceMs: 0, limit: 10 })).toEqual([tombstone, storedEvent('gone', T0)]);
      });
    });

    describe('counts', () => {
      it('applies count deltas per key with the commit', async () => {
        const store = await fixture.open();
        expect((await store.counts()).total).toBe(0);
        expect(Object.values((await store.counts()).byNamespace).filter((n) => n !== 0)).toEqual([]);

        const zero = await store.claimPartition(0);
        const one = await store.claimPartition(1);
        await store.commit(zero, commitOf(0, { countDeltas: { 'ns-a': 2, '': 1 }, eventsApplied: 3 }));
        await store.commit(one, commitOf(0, { countDeltas: { 'ns-a': 1, 'ns-b': 4 }, eventsApplied: 5 }));
        let counts = await store.counts();
        expect(counts.total).toBe(8);
        expect(counts.byNamespace['ns-a']).toBe(3);
        expect(counts.byNamespace['ns-b']).toBe(4);
        expect(counts.byNamespace['']).toBe(1);
        expect(await store.eventsApplied()).toBe(8);

        await store.commit(zero, commitOf(1, { countDeltas: { 'ns-b': -4, 'ns-a': -1 }, eventsApplied: 2 }));
        counts = await store.counts();
        expect(counts.total).toBe(3);
        expect(counts.byNamespace['ns-a']).toBe(2);
        expect(counts.byNamespace['ns-b'] ?? 0).toBe(0);
        expect(await store.eventsApplied()).toBe(10);
      });

      it('keeps a __proto__ count key as plain data', async () => {
        const store = await fixture.open();
        const claim = await store.claimPartition(0);
        await store.commit(claim, commitOf(0, { countDeltas: Object.fromEntries([['__proto__', 2]]) }));
        const counts = await store.counts();
        expect(Object.hasOwn(counts.byNamespace, '__proto__')).toBe(true);
        expect(counts.byNamespace['__proto__']).toBe(2);
        expect(counts.total).toBe(2);
      });
    });

    describe('persistence', () => {
      it('keeps state, offsets, history and counts in agreement across a reopen', async () => {
        let store = await fixture.open();
        const claim = await store.claimPartition(4);
        await store.commit(
          claim,
          commitOf(10, { upserts: upserts('ns/a', 'ns/b'), history: historyEntries('ns/a', 9, 2), countDeltas: { ns: 2 }, eventsApplied: 11 }),
        );
        await store.commit(claim, commitOf(12, { deletes: ['ns/b'], countDeltas: { ns: -1 }, eventsApplied: 2 }));

        store = await fixture.reopen(store);
        const reclaimed = await store.claimPartition(4);
        expect(reclaimed.appliedOffset).toBe(12);
        expect(reclaimed.epoch).toBeGreaterThan(claim.epoch);
        expect(ids(await store.listEntities({ prefix: 'ns/', limit: 10 }))).toEqual(['ns/a']);
        expect(await store.getEntity('ns/a')).toEqual(entity({ name: 'ns/a' }));
        expect((await store.history('ns/a', { sinceMs: 0, limit: 10 })).map((e) => e.storedAt)).toEqual([T0 + 10, T0 + 9]);
        expect((await store.counts()).byNamespace['ns']).toBe(1);
        expect(await store.eventsApplied()).toBe(13);
        // The claim taken before the restart is stale now.
        await expect(store.commit(claim, commitOf(13))).rejects.toMatchObject({ code: ErrorCode.Fenced });
      });
    });
  });
}
