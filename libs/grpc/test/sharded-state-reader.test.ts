import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { compareIds, compileFilter, ErrorCode, FluxError, partitionFor, partitionsOfShard, type Properties } from '@flux/domain';
import type { EntityRecord, StateReader } from '@flux/core';
import { LmdbStateStore } from '@flux/embedded';
import {
  closeShardClients,
  createShardClients,
  createStateServiceServer,
  FLUX_ERROR_CODE_METADATA,
  mergePages,
  ShardedStateReader,
  silentLogger,
  type StateServiceClient,
  type StateServiceServerHandle,
} from '../src/index.js';
import type { GetEntityResponse } from '../src/generated/flux/v1/state.js';
import { rejection, silentServer, T0, TestCluster, unusedAddress } from './support/cluster.js';

const PARTITIONS = 12;
const SHARDS = 3;

/** 25 ids under `ns/`, chosen so that UTF-8 byte order differs from JavaScript's UTF-16 order. */
const LISTED = [
  ...Array.from({ length: 18 }, (_, i) => `ns/item-${String(i).padStart(2, '0')}`),
  'ns/Z',
  'ns/a',
  'ns/é',
  'ns/日本',
  'ns/\uff21', // fullwidth A: UTF-8 EF BC A1, sorts before the emoji in bytes, after it in UTF-16
  'ns/😀',
  'ns/item-00/child',
];

const byteOrder = (ids: readonly string[]): string[] => [...ids].sort(compareIds);

describe('ShardedStateReader over real shard servers', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start({ shardCount: SHARDS, partitionCount: PARTITIONS });
    for (const id of LISTED) await cluster.put(id, { name: id });
    // Outside the listed prefix.
    await cluster.put('other/x', { n: 1 });
    await cluster.put('nsx', { n: 2 });
  });

  afterAll(() => cluster.close());

  it('spreads the fixture over every shard (so merging is really exercised)', async () => {
    const perShard = cluster.shards.map(() => 0);
    for (const id of LISTED) perShard[cluster.ownerOf(id).index]! += 1;
    expect(perShard.every((count) => count > 0)).toBe(true);
  });

  it('reads an entity from the shard that owns its partition', async () => {
    for (const id of LISTED) {
      const owner = cluster.ownerOf(id);
      // Only the owner holds it: a misrouted read would find nothing.
      for (const shard of cluster.shards) expect((await shard.store.getEntity(id)) !== undefined).toBe(shard === owner);
      expect(cluster.reader.shardOf(id)).toBe(owner.index);
      const entity = await cluster.reader.getEntity(id);
      expect(entity).toEqual({ properties: { name: id }, version: 1, lastUpdated: T0 });
    }
    expect(await cluster.reader.getEntity('ns/missing')).toBeUndefined();
  });

  it('lists across shards with stable cursor paging: every id once, in UTF-8 byte order', async () => {
    const seen: string[] = [];
    const pageSizes: number[] = [];
    let after: string | undefined;
    for (let guard = 0; guard < 10; guard++) {
      const page = await cluster.reader.listEntities({ prefix: 'ns/', limit: 7, ...(after === undefined ? {} : { after }) });
      pageSizes.push(page.entities.length);
      seen.push(...page.entities.map((e) => e.id));
      if (page.lastId === undefined) break;
      expect(page.lastId).toBe(page.entities[page.entities.length - 1]!.id);
      after = page.lastId;
    }
    expect(pageSizes).toEqual([7, 7, 7, 4]);
    expect(seen).toEqual(byteOrder(LISTED));
    expect(new Set(seen).size).toBe(LISTED.length);
    // The byte order is not JavaScript's default string order for these ids.
    expect(byteOrder(LISTED)).not.toEqual([...LISTED].sort());
  });

  it('sets lastId only while more remain on some shard', async () => {
    const all = await cluster.reader.listEntities({ prefix: 'ns/', limit: 25 });
    expect(all.entities).toHaveLength(25);
    expect(all.lastId).toBeUndefined();
    const oneShort = await cluster.reader.listEntities({ prefix: 'ns/', limit: 24 });
    expect(oneShort.lastId).toBe(byteOrder(LISTED)[23]);
    const last = byteOrder(LISTED)[24]!;
    expect(await cluster.reader.listEntities({ prefix: 'ns/', after: last, limit: 5 })).toEqual({ entities: [] });
    expect(await cluster.reader.listEntities({ prefix: 'ns/', limit: 0 })).toEqual({ entities: [] });
    const everything = await cluster.reader.listEntities({ prefix: '', limit: 100 });
    expect(everything.entities.map((e) => e.id)).toEqual(byteOrder([...LISTED, 'other/x', 'nsx']));
  });

  it('returns history newest first from the owner shard', async () => {
    const id = 'hist/one';
    for (let i = 1; i <= 5; i++) await cluster.put(id, { step: i }, T0 + i * 1_000);
    const all = await cluster.reader.history(id, { sinceMs: 0, limit: 100 });
    expect(all.map((e) => e.storedAt)).toEqual([5, 4, 3, 2, 1].map((i) => T0 + i * 1_000));
    expect(all[0]!.event.payload).toEqual({ entity_id: id, properties: { step: 5 } });
    const recent = await cluster.reader.history(id, { sinceMs: T0 + 3_000, limit: 100 });
    expect(recent.map((e) => e.event.payload.properties['step'])).toEqual([5, 4, 3]);
    const limited = await cluster.reader.history(id, { sinceMs: 0, limit: 2 });
    expect(limited.map((e) => e.event.payload.properties['step'])).toEqual([5, 4]);
    expect(await cluster.reader.history('hist/none', { sinceMs: 0, limit: 10 })).toEqual([]);
  });

  it('sums counts and applied events over all shards', async () => {
    const perShard = await Promise.all(cluster.shards.map(async (s) => ({ counts: await s.store.counts(), applied: await s.store.eventsApplied() })));
    const counts = await cluster.reader.counts();
    expect(counts.total).toBe(perShard.reduce((sum, s) => sum + s.counts.total, 0));
    expect(counts.total).toBeGreaterThanOrEqual(LISTED.length + 2);
    expect(counts.byNamespace['ns']).toBe(LISTED.length);
    expect(counts.byNamespace['other']).toBe(1);
    expect(counts.byNamespace['']).toBe(1); // 'nsx' has no namespace
    expect(await cluster.reader.eventsApplied()).toBe(perShard.reduce((sum, s) => sum + s.applied, 0));
  });

  it('keeps JSON exactly: __proto__ keys, integers vs floats, large numbers, odd strings', async () => {
    const json =
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"int":1,"float":1.5,"onePointZero":1.0,' +
      '"maxSafe":9007199254740991,"beyondSafe":12345678901234567890,"huge":1e300,"tiny":5e-324,"negative":-42,' +
      '"unicode":"日本 😀","lone":"\\ud800","nested":[{"__proto__":[1,2.25]}],"nothing":null}';
    const properties = JSON.parse(json) as Properties;
    const id = 'json/fidelity';
    await cluster.put(id, properties);

    const entity = (await cluster.reader.getEntity(id))!;
    const read = entity.properties;
    expect(JSON.stringify(read)).toBe(JSON.stringify(properties));
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
    expect(Object.hasOwn(read, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(read, '__proto__')?.value).toEqual(JSON.parse('{"polluted":true}'));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Number.isInteger(read['int'])).toBe(true);
    expect(read['float']).toBe(1.5);
    expect(read['maxSafe']).toBe(Number.MAX_SAFE_INTEGER);
    expect(read['beyondSafe']).toBe(12345678901234567890);
    expect(read['tiny']).toBe(5e-324);
    expect(read['lone']).toBe('\ud800');
    const nested = (read['nested'] as Record<string, unknown>[])[0]!;
    expect(Object.hasOwn(nested, '__proto__')).toBe(true);

    // On the wire the properties are the store's JSON text: integers stay integers.
    const wire = await new Promise<GetEntityResponse>((resolve, reject) =>
      cluster.clients[cluster.ownerOf(id).index]!.getEntity({ id }, (error, response) => (error ? reject(error) : resolve(response))),
    );
    expect(wire.entity?.propertiesJson).toBe(JSON.stringify(properties));
    expect(wire.entity?.propertiesJson).toContain('"int":1,"float":1.5,"onePointZero":1,"maxSafe":9007199254740991');

    // The same through lists and history.
    const listed = await cluster.reader.listEntities({ prefix: 'json/', limit: 10 });
    expect(JSON.stringify(listed.entities[0]!.entity.properties)).toBe(JSON.stringify(properties));
    const [stored] = await cluster.reader.history(id, { sinceMs: 0, limit: 1 });
    expect(Object.hasOwn(stored!.event.payload.properties, '__proto__')).toBe(true);
    expect(JSON.stringify(stored!.event.payload.properties)).toBe(JSON.stringify(properties));
  });

  it('keeps __proto__ and constructor namespaces as counts', async () => {
    await cluster.put('__proto__/a', { n: 1 });
    await cluster.put('__proto__/b', { n: 2 });
    await cluster.put('constructor/c', { n: 3 });
    const counts = await cluster.reader.counts();
    expect(Object.getPrototypeOf(counts.byNamespace)).toBe(Object.prototype);
    expect(Object.hasOwn(counts.byNamespace, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(counts.byNamespace, '__proto__')?.value).toBe(2);
    expect(Object.getOwnPropertyDescriptor(counts.byNamespace, 'constructor')?.value).toBe(1);
  });

  it('refuses a read of an entity whose partition the shard does not own', async () => {
    const id = LISTED[0]!;
    const wrong = cluster.shards.find((shard) => shard !== cluster.ownerOf(id))!;
    const error = await new Promise<ServiceError>((resolve, reject) =>
      cluster.clients[wrong.index]!.getEntity({ id }, (e) => (e ? resolve(e) : reject(new Error('answered a misrouted read')))),
    );
    expect(error.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    expect(error.metadata.get(FLUX_ERROR_CODE_METADATA)).toEqual([ErrorCode.StoreUnavailable]);
    expect(error.details).toContain(`partition ${partitionFor(id, PARTITIONS)}`);

    // A gateway that believes in fewer shards routes some reads wrongly: 503, never "not found".
    const confused = new ShardedStateReader({ shards: cluster.clients.slice(0, 2), partitionCount: PARTITIONS });
    const misrouted = LISTED.find((candidate) => confused.shardOf(candidate) !== cluster.ownerOf(candidate).index)!;
    expect((await rejection(confused.getEntity(misrouted))).code).toBe(ErrorCode.StoreUnavailable);
  });

  it('pushes a filter down: each shard answers only the matches it read, and the merged pages page as usual', async () => {
    const filter = 'name startswith "ns/item-1" or name = "ns/é"';
    const expected = byteOrder(LISTED.filter((id) => id.startsWith('ns/item-1') || id === 'ns/é'));
    for (const [index, client] of cluster.clients.entries()) {
      const answer = await new Promise<{ entities: { id: string }[] }>((resolve, reject) =>
        client.listEntities({ prefix: 'ns/', limit: 100, filter, partitions: [] }, (e, response) => (e ? reject(e) : resolve(response))),
      );
      const owned = expected.filter((id) => cluster.ownerOf(id).index === index);
      expect(answer.entities.map((e) => e.id)).toEqual(owned);
    }
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const page = await cluster.reader.listEntities({
        prefix: 'ns/',
        limit: 3,
        filter: compileFilter(filter),
        ...(after === undefined ? {} : { after }),
      });
      expect(page.entities.length).toBeLessThanOrEqual(3);
      seen.push(...page.entities.map((e) => e.id));
      after = page.lastId;
    } while (after !== undefined);
    expect(seen).toEqual(expected);
  });

  it('answers a filter that does not parse with INVALID_ARGUMENT and FLUX_VALIDATION', async () => {
    const error = await new Promise<ServiceError>((resolve, reject) =>
      cluster.clients[0]!.listEntities({ prefix: '', limit: 5, filter: 'name ~ 1', partitions: [] }, (e) =>
        e ? resolve(e) : reject(new Error('accepted a bad filter')),
      ),
    );
    expect(error.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(error.metadata.get(FLUX_ERROR_CODE_METADATA)).toEqual([ErrorCode.Validation]);
    expect(error.details).toContain('unexpected character "~"');
  });
});

describe('ShardedStateReader when shards cannot answer', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start({ shardCount: 2, partitionCount: 4 });
    await cluster.put('ok/1', { n: 1 });
  });

  afterAll(() => cluster.close());

  it('rejects with FLUX_STORE_UNAVAILABLE when a shard is unreachable', async () => {
    const clients = createShardClients([cluster.shards[0]!.address, await unusedAddress()]);
    try {
      const reader = new ShardedStateReader({ shards: clients, partitionCount: 4, deadlineMs: 2_000 });
      const downId = Array.from({ length: 100 }, (_, i) => `down/${i}`).find((id) => reader.shardOf(id) === 1)!;
      const upId = Array.from({ length: 100 }, (_, i) => `up/${i}`).find((id) => reader.shardOf(id) === 0)!;

      const get = await rejection(reader.getEntity(downId));
      expect(get.code).toBe(ErrorCode.StoreUnavailable);
      expect(get.message).toContain('shard 1');
      expect((await rejection(reader.history(downId, { sinceMs: 0, limit: 5 }))).code).toBe(ErrorCode.StoreUnavailable);
      // Fan-outs need every shard: no partial pages or counts.
      expect((await rejection(reader.listEntities({ prefix: '', limit: 10 }))).code).toBe(ErrorCode.StoreUnavailable);
      expect((await rejection(reader.counts())).code).toBe(ErrorCode.StoreUnavailable);
      expect((await rejection(reader.eventsApplied())).code).toBe(ErrorCode.StoreUnavailable);
      // Reads routed to the healthy shard still work.
      expect(await reader.getEntity(upId)).toBeUndefined();
    } finally {
      closeShardClients(clients);
    }
  });

  it('gives up at the deadline when a shard accepts connections but never answers', async () => {
    const silent = await silentServer();
    const clients = createShardClients([silent.address]);
    try {
      const reader = new ShardedStateReader({ shards: clients, partitionCount: 4, deadlineMs: 300 });
      const started = Date.now();
      const error = await rejection(reader.getEntity('any/id'));
      expect(error.code).toBe(ErrorCode.StoreUnavailable);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      closeShardClients(clients);
      await silent.close();
    }
  });

  it('passes the FluxError code of a failing shard store through', async () => {
    const failing = (code: ErrorCode): StateReader => {
      const fail = async (): Promise<never> => {
        throw new FluxError(code, `store says ${code}`);
      };
      return { getEntity: fail, getEntityJson: fail, listEntities: fail, history: fail, counts: fail, eventsApplied: fail };
    };
    for (const code of [ErrorCode.StoreUnavailable, ErrorCode.Validation, ErrorCode.Internal]) {
      const handle = createStateServiceServer({
        reader: failing(code),
        feed: { subscribe: () => () => undefined },
        partitions: [0],
        logger: silentLogger,
      });
      const port = await handle.listen('127.0.0.1:0');
      const clients = createShardClients([`127.0.0.1:${port}`]);
      try {
        const reader = new ShardedStateReader({ shards: clients, partitionCount: 1 });
        const error = await rejection(reader.getEntity('x'));
        expect(error.code).toBe(code);
        expect(error.message).toContain(`store says ${code}`);
        expect((await rejection(reader.counts())).code).toBe(code);
      } finally {
        closeShardClients(clients);
        await handle.shutdown(200);
      }
    }
  });
});

describe('ShardedStateReader over shards sharing one store (one Redis for all shards)', () => {
  const SHARED_PARTITIONS = 6;
  let dir: string;
  let store: LmdbStateStore;
  let handles: StateServiceServerHandle[];
  let clients: StateServiceClient[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flux-grpc-shared-'));
    store = LmdbStateStore.open({ path: dir });
    const byPartition = new Map<number, string[]>();
    for (const id of LISTED)
      byPartition.set(partitionFor(id, SHARED_PARTITIONS), [...(byPartition.get(partitionFor(id, SHARED_PARTITIONS)) ?? []), id]);
    for (const [partition, ids] of byPartition) {
      const claim = await store.claimPartition(partition);
      await store.commit(claim, {
        lastOffset: ids.length - 1,
        upserts: ids.map((id) => ({ id, entity: { properties: { name: id }, version: 1, lastUpdated: T0 } })),
        deletes: [],
        history: [],
        countDeltas: {},
        eventsApplied: 0,
      });
    }
    handles = [0, 1, 2].map((shard) =>
      createStateServiceServer({
        reader: store,
        feed: { subscribe: () => () => undefined },
        partitions: partitionsOfShard(shard, 3, SHARED_PARTITIONS),
        partitionCount: SHARED_PARTITIONS,
        logger: silentLogger,
      }),
    );
    const ports = await Promise.all(handles.map((handle) => handle.listen('127.0.0.1:0')));
    clients = createShardClients(ports.map((port) => `127.0.0.1:${port}`));
  });

  afterAll(async () => {
    closeShardClients(clients);
    await Promise.all(handles.map((handle) => handle.shutdown(200)));
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every id once, in byte order, with the same paging as per-shard stores', async () => {
    const reader = new ShardedStateReader({ shards: clients, partitionCount: SHARED_PARTITIONS });
    for (const limit of [1, 7, 25, 100]) {
      const seen: string[] = [];
      let after: string | undefined;
      for (let guard = 0; guard < 30; guard++) {
        const page = await reader.listEntities({ prefix: 'ns/', limit, ...(after === undefined ? {} : { after }) });
        expect(page.entities.length).toBeLessThanOrEqual(limit);
        seen.push(...page.entities.map((e) => e.id));
        if (page.lastId === undefined) break;
        after = page.lastId;
      }
      expect(seen).toEqual(byteOrder(LISTED));
    }
  });
});

describe('mergePages', () => {
  const rec = (id: string): EntityRecord => ({ id, entity: { properties: {}, version: 1, lastUpdated: T0 } });
  const page = (ids: string[], lastId?: string) => ({ entities: ids.map(rec), ...(lastId === undefined ? {} : { lastId }) });
  const idsOf = (p: { entities: readonly EntityRecord[] }) => p.entities.map((e) => e.id);

  it('takes the first `limit` ids overall and sets lastId when more remain anywhere', () => {
    const merged = mergePages([page(['a', 'd'], 'd'), page(['b', 'c'])], 2);
    expect(idsOf(merged)).toEqual(['a', 'b']);
    expect(merged.lastId).toBe('b');
    const complete = mergePages([page(['a', 'd']), page(['b', 'c'])], 4);
    expect(idsOf(complete)).toEqual(['a', 'b', 'c', 'd']);
    expect(complete.lastId).toBeUndefined();
    // Exactly `limit` taken, but one shard has more beyond its page.
    const exact = mergePages([page(['a', 'c'], 'c'), page(['b'])], 2);
    expect(idsOf(exact)).toEqual(['a', 'b']);
    expect(exact.lastId).toBe('b');
  });

  it('never returns ids past a shard page that stopped early (no skipped ids on the next page)', () => {
    // Shard A answered only 1 of 3 (a capped page) and has more after 'b'; shard B has 'c','d'.
    const merged = mergePages([page(['b'], 'b'), page(['c', 'd'])], 3);
    expect(idsOf(merged)).toEqual(['b']);
    expect(merged.lastId).toBe('b');
  });

  it('keeps a cursor when every shard filtered its whole page away', () => {
    expect(mergePages([page([], 'k'), page([], 'm')], 5)).toEqual({ entities: [], lastId: 'k' });
  });

  it('resumes after the smallest lastId when every entry up to it is returned (filtered pages)', () => {
    // Shard A examined up to 'k' and found 'b'; shard B examined up to 'm' and found 'c' and 'l'.
    const merged = mergePages([page(['b'], 'k'), page(['c', 'l'], 'm')], 5);
    expect(idsOf(merged)).toEqual(['b', 'c']);
    expect(merged.lastId).toBe('k');
  });

  it('returns an id that several shards hold once', () => {
    const merged = mergePages([page(['a', 'b']), page(['a', 'c'])], 10);
    expect(idsOf(merged)).toEqual(['a', 'b', 'c']);
  });
});
