import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode, partitionFor, type ChangeRecord } from '@flux/domain';
import { FallbackStateReader, MemoryChangeFeed, type ShardCall } from '@flux/core';
import { Collector, waitFor } from '@flux/core/testing';
import {
  createStateServiceServer,
  FLUX_ERROR_CODE_METADATA,
  FLUX_MISROUTED_METADATA,
  GrpcChangeFeed,
  OwnedPartitions,
  PartitionMapRouter,
  ShardedStateReader,
  silentLogger,
  type StateServiceClient,
  type StateServiceServerHandle,
} from '../src/index.js';
import type { GetCountsResponse, ListEntitiesResponse } from '../src/generated/flux/v1/state.js';
import { ArrayPartitionMap } from './support/array-partition-map.js';
import { EntityWriter, rejection, upsertChange } from './support/cluster.js';
import { PartitionStores } from './support/partition-stores.js';

const PARTITIONS = 4;

/** Entity ids in each partition (three per partition). */
const IDS: readonly (readonly string[])[] = (() => {
  const byPartition: string[][] = Array.from({ length: PARTITIONS }, () => []);
  for (let i = 0; byPartition.some((ids) => ids.length < 3); i++) {
    const id = `el/${i}`;
    const ids = byPartition[partitionFor(id, PARTITIONS)]!;
    if (ids.length < 3) ids.push(id);
  }
  return byPartition;
})();
const ALL_IDS = IDS.flat().sort();

/** An elastic reducer's gRPC server over the shared store, owning what the test says. */
class ElasticShard {
  readonly ownership = new OwnedPartitions();
  readonly feed = new MemoryChangeFeed();
  handle!: StateServiceServerHandle;
  address = '';

  constructor(private readonly store: PartitionStores) {}

  async start(): Promise<this> {
    this.handle = createStateServiceServer({
      reader: this.store.all(),
      readerFor: (partitions) => this.store.readerFor(partitions),
      feed: this.feed,
      ownership: this.ownership,
      partitionCount: PARTITIONS,
      logger: silentLogger,
    });
    this.address = `127.0.0.1:${await this.handle.listen('127.0.0.1:0')}`;
    this.handle.setReady();
    return this;
  }
}

function unary<Res>(call: (callback: (error: ServiceError | null, response: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => call((error, response) => (error === null ? resolve(response) : reject(error))));
}

async function failure(call: (callback: (error: ServiceError | null, response: unknown) => void) => unknown): Promise<ServiceError> {
  const error = await unary(call).then(
    () => undefined,
    (e: unknown) => e as ServiceError,
  );
  if (error === undefined) throw new Error('the call succeeded');
  return error;
}

describe('elastic routing over real shard servers', () => {
  let stores: PartitionStores;
  let shards: ElasticShard[];
  let map: ArrayPartitionMap;
  let router: PartitionMapRouter;
  let epoch = 1;
  const feeds: GrpcChangeFeed[] = [];

  /** Moves partitions the way elastic reducers hand them over: old owner lets go, new one claims, then publishes. */
  const move = (to: ElasticShard, ...partitions: number[]): void => {
    epoch += 1;
    for (const partition of partitions) {
      for (const shard of shards) shard.ownership.disown(partition);
      to.ownership.own(partition);
    }
    map.assign(to.address, epoch, ...partitions);
  };

  beforeAll(async () => {
    stores = await PartitionStores.open(PARTITIONS);
    const writer = new EntityWriter(PARTITIONS);
    for (const id of ALL_IDS) await writer.put(stores.storeOf(id), id, { name: id });
    shards = [];
    for (let i = 0; i < 3; i++) shards.push(await new ElasticShard(stores).start());
  });

  afterEach(() => {
    for (const feed of feeds.splice(0)) feed.close();
    router.close();
  });

  afterAll(async () => {
    await Promise.all(shards.map((shard) => shard.handle.shutdown(200)));
    await stores.close();
  });

  /** A and B share the partitions (A: 0 and 1, B: 2 and 3); C serves nothing; the router knows. */
  const layout = async (): Promise<[ElasticShard, ElasticShard, ElasticShard]> => {
    const [a, b, c] = shards as [ElasticShard, ElasticShard, ElasticShard];
    map = new ArrayPartitionMap();
    move(a, 0, 1);
    move(b, 2, 3);
    router = new PartitionMapRouter({ map, partitionCount: PARTITIONS, pollIntervalMs: 60_000 });
    await router.refresh();
    return [a, b, c];
  };

  it('answers misrouted for partitions a shard does not own, and reads exactly the partitions asked for', async () => {
    const [a] = await layout();
    const client: StateServiceClient = router.ownerOf(0)!.client;

    const foreign = await failure((cb) => client.listEntities({ prefix: '', limit: 100, partitions: [1, 2, 3] }, cb));
    expect(foreign.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    expect(foreign.metadata.get(FLUX_MISROUTED_METADATA)).toEqual(['2,3']);
    expect(foreign.metadata.get(FLUX_ERROR_CODE_METADATA)).toEqual([ErrorCode.StoreUnavailable]);
    const entity = await failure((cb) => client.getEntity({ id: IDS[3]![0]! }, cb));
    expect(entity.metadata.get(FLUX_MISROUTED_METADATA)).toEqual(['3']);
    const outside = await failure((cb) => client.getCounts({ partitions: [PARTITIONS] }, cb));
    expect(outside.code).toBe(GrpcStatus.INVALID_ARGUMENT);

    const one = await unary<ListEntitiesResponse>((cb) => client.listEntities({ prefix: '', limit: 100, partitions: [1] }, cb));
    expect(one.entities.map((e) => e.id)).toEqual([...IDS[1]!].sort());
    const own = await unary<ListEntitiesResponse>((cb) => client.listEntities({ prefix: '', limit: 100, partitions: [] }, cb));
    expect(own.entities.map((e) => e.id)).toEqual([...IDS[0]!, ...IDS[1]!].sort());
    const counts = await unary<GetCountsResponse>((cb) => client.getCounts({ partitions: [0] }, cb));
    expect(counts.byNamespace.get('el')).toBe(3);
    expect(a.ownership.partitions()).toEqual([0, 1]);
  });

  it('refreshes after a misrouted answer and reads from the new owner', async () => {
    const [a, b, c] = await layout();
    const calls: ShardCall[] = [];
    const reader = new ShardedStateReader({ router, observer: { shardCallEnded: (call) => calls.push(call) } });
    const id = IDS[1]![0]!;
    expect((await reader.getEntity(id))?.properties).toEqual({ name: id });
    expect(calls.map((call) => [call.shard, call.code])).toEqual([[a.address, 'OK']]);

    move(c, 1); // the router does not know yet
    calls.length = 0;
    expect((await reader.getEntity(id))?.properties).toEqual({ name: id });
    expect(calls.map((call) => [call.shard, call.code])).toEqual([
      [a.address, 'FAILED_PRECONDITION'],
      [c.address, 'OK'],
    ]);
    expect(reader.shardOf(id)).toBe(c.address);

    // Lists and counts too: each shard is asked for exactly its partitions.
    move(b, 0);
    calls.length = 0;
    const page = await reader.listEntities({ prefix: 'el/', limit: 100 });
    expect(page.entities.map((e) => e.id)).toEqual(ALL_IDS);
    expect(calls.some((call) => call.shard === a.address && call.code === 'FAILED_PRECONDITION')).toBe(true);
    expect(router.ownerOf(0)?.address).toBe(b.address);
    expect(await reader.counts()).toEqual({ total: ALL_IDS.length, byNamespace: { el: ALL_IDS.length } });
    expect(await reader.eventsApplied()).toBe(ALL_IDS.length);
    expect((await reader.history(IDS[0]![0]!, { sinceMs: 0, limit: 5 })).length).toBe(1);
  });

  it('fails with FLUX_STORE_UNAVAILABLE while a partition has no owner, which the gateway serves from the store instead', async () => {
    const [, b] = await layout();
    const reader = new ShardedStateReader({ router });
    // Partition 3 is being handed over: its owner let go, nobody claimed it yet.
    b.ownership.disown(3);
    map.release(3);
    await router.refresh();
    const reads = map.reads;

    const list = await rejection(reader.listEntities({ prefix: '', limit: 100 }));
    expect(list.code).toBe(ErrorCode.StoreUnavailable);
    expect(list.message).toContain('partition 3');
    expect((await rejection(reader.counts())).code).toBe(ErrorCode.StoreUnavailable);
    expect((await rejection(reader.getEntity(IDS[3]![0]!))).code).toBe(ErrorCode.StoreUnavailable);
    // Each looked again first.
    expect(map.reads).toBe(reads + 3);
    // Other partitions' reads are unaffected.
    expect((await reader.getEntity(IDS[2]![0]!))?.properties).toEqual({ name: IDS[2]![0] });

    const fallbacks: string[] = [];
    const gateway = new FallbackStateReader({ primary: reader, fallback: stores.all(), onFallback: (operation) => fallbacks.push(operation) });
    expect((await gateway.listEntities({ prefix: 'el/', limit: 100 })).entities.map((e) => e.id)).toEqual(ALL_IDS);
    expect(fallbacks).toEqual(['listEntities']);

    // Claimed again (the map says so; the router finds out on its own).
    move(b, 3);
    expect((await reader.listEntities({ prefix: 'el/', limit: 100 })).entities.map((e) => e.id)).toEqual(ALL_IDS);
  });

  /** A gateway's feed over the router, connected to every shard the router knows. */
  const openFeed = async (): Promise<{ feed: GrpcChangeFeed; changes: Collector<ChangeRecord>; resumed: Collector<readonly number[]> }> => {
    const feed = new GrpcChangeFeed({ router, backoff: { initialMs: 20, maxMs: 200 } });
    feeds.push(feed);
    const changes = new Collector<ChangeRecord>();
    const resumed = new Collector<readonly number[]>();
    feed.onResume(resumed.push);
    feed.subscribe((batch) => changes.push(...batch));
    await waitFor(() => feed.connected, { what: 'the feed to connect to every shard' });
    return { feed, changes, resumed };
  };

  it('keeps delivering the changes of a partition moved to another shard, and says it resumed', async () => {
    const [a, b] = await layout();
    const { feed, changes, resumed } = await openFeed();
    await resumed.untilCount(2, 'both streams resumed');
    expect([...resumed.items].sort()).toEqual([
      [0, 1],
      [2, 3],
    ]);

    a.feed.publish([upsertChange('before', 1, 10)]);
    await changes.until((items) => items.some((c) => c.entityId === 'before'), 'the change before the move');

    move(b, 1);
    await router.refresh();
    await resumed.untilCount(3, 'partition 1 resumed at B');
    expect(resumed.items[2]).toEqual([1]);

    // A no longer owns partition 1: what it still publishes for it is not forwarded.
    a.feed.publish([upsertChange('from-old-owner', 1, 11)]);
    a.feed.publish([upsertChange('marker', 0, 12)]);
    b.feed.publish([upsertChange('after', 1, 11)]);
    await changes.until((items) => ['marker', 'after'].every((id) => items.some((c) => c.entityId === id)), 'the changes after the move');
    expect(changes.items.map((c) => c.entityId)).not.toContain('from-old-owner');
    expect(changes.items.find((c) => c.entityId === 'after')).toMatchObject({ partition: 1, offset: 11 });
    expect(feed.connected).toBe(true);
  });

  it('opens a stream to a shard that joins and closes the stream of one that serves nothing any more', async () => {
    const [a, b, c] = await layout();
    const { feed, changes, resumed } = await openFeed();
    expect(a.handle.watcherCount).toBe(1);
    expect(c.handle.watcherCount).toBe(0);

    move(c, 0, 1);
    await router.refresh();
    await resumed.until((items) => items.some((partitions) => partitions.join() === '0,1'), "C's stream open with partitions 0 and 1", 5_000);
    await waitFor(() => a.handle.watcherCount === 0, { what: "A's stream to close" });
    expect(feed.connectedShards).toEqual([true, true]);
    expect(router.targets().map((target) => target.address)).toEqual([b.address, c.address].sort());

    c.feed.publish([upsertChange('at-c', 0, 20)]);
    await changes.until((items) => items.some((change) => change.entityId === 'at-c'), 'the change at C');
    expect(feed.connected).toBe(true);
    expect(c.handle.watcherCount).toBe(1);
  });
});
