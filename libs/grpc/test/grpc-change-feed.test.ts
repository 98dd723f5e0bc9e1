import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectivityState, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode, type ChangeRecord, type CommitProgress } from '@flux/domain';
import { Collector, deferred, waitFor, within } from '@flux/core/testing';
import { MemoryChangeFeed } from '@flux/core';
import {
  closeShardClients,
  createShardClients,
  createStateServiceServer,
  FLUX_ERROR_CODE_METADATA,
  GrpcChangeFeed,
  type ShardStreamEvent,
} from '../src/index.js';
import { deleteChange, TestCluster, upsertChange, unusedAddress, type TestShard } from './support/cluster.js';

const PARTITIONS = 6;
const SHARDS = 3;

/** Waits for a shard event without sleeping. */
function events(): {
  push: (event: ShardStreamEvent) => void;
  until(shard: number, state: ShardStreamEvent['state'], after?: number): Promise<number>;
} {
  const collected = new Collector<ShardStreamEvent>();
  return {
    push: collected.push,
    async until(shard, state, after = 0) {
      let index = -1;
      await collected.until((items) => {
        index = items.findIndex((e, i) => i >= after && e.shard === shard && e.state === state);
        return index >= 0;
      }, `shard ${shard} ${state}`);
      return index;
    },
  };
}

const flat = (batches: readonly (readonly ChangeRecord[])[]): ChangeRecord[] => batches.flat();

describe('GrpcChangeFeed over real shard servers', () => {
  let cluster: TestCluster;
  const feeds: GrpcChangeFeed[] = [];

  const openFeed = async (): Promise<{
    feed: GrpcChangeFeed;
    batches: Collector<readonly ChangeRecord[]>;
    shardEvents: ReturnType<typeof events>;
  }> => {
    const shardEvents = events();
    const feed = new GrpcChangeFeed({
      shards: cluster.clients,
      partitionCount: PARTITIONS,
      onShardEvent: shardEvents.push,
      backoff: { initialMs: 20, maxMs: 200 },
    });
    feeds.push(feed);
    const batches = new Collector<readonly ChangeRecord[]>();
    feed.subscribe((changes) => batches.push(changes));
    for (let shard = 0; shard < SHARDS; shard++) await shardEvents.until(shard, 'connected');
    return { feed, batches, shardEvents };
  };

  beforeAll(async () => {
    cluster = await TestCluster.start({ shardCount: SHARDS, partitionCount: PARTITIONS });
  });

  afterEach(() => {
    for (const feed of feeds.splice(0)) feed.close();
  });

  afterAll(() => cluster.close());

  it("carries each commit's progress: with its changes to readers, with every event's outcome and no changes when asked", async () => {
    const { batches } = await openFeed();
    const readerProgress = new Collector<CommitProgress>();
    feeds[0]!.subscribe((_changes, progress) => progress !== undefined && readerProgress.push(progress));
    const outcomeEvents = events();
    const writer = new GrpcChangeFeed({ shards: cluster.clients, partitionCount: PARTITIONS, outcomesOnly: true, onShardEvent: outcomeEvents.push });
    feeds.push(writer);
    const heard = new Collector<{ changes: readonly ChangeRecord[]; progress: CommitProgress | undefined }>();
    writer.subscribe((changes, progress) => heard.push({ changes, progress }));
    for (let shard = 0; shard < SHARDS; shard++) await outcomeEvents.until(shard, 'connected');

    const progress: CommitProgress = {
      partition: 4,
      lastOffset: 12,
      outcomes: [
        { offset: 9, kind: 'applied', version: 3 },
        { offset: 10, kind: 'conflict', currentVersion: 3 },
        { offset: 11, kind: 'refused', currentVersion: 3 },
        { offset: 12, kind: 'applied', version: 0 },
      ],
    };
    cluster.publish(4, [upsertChange('e/4', 4, 9), deleteChange('e/4', 4, 12)], progress);
    // A commit whose events changed nothing still travels, as progress alone.
    cluster.publish(4, [], { partition: 4, lastOffset: 13, outcomes: [{ offset: 13, kind: 'conflict', currentVersion: 0 }] });

    await heard.untilCount(2, 'two commits on the outcome stream');
    expect(heard.items).toEqual([
      { changes: [], progress },
      { changes: [], progress: { partition: 4, lastOffset: 13, outcomes: [{ offset: 13, kind: 'conflict', currentVersion: 0 }] } },
    ]);
    await readerProgress.untilCount(2, 'two commits on the reader stream');
    expect(readerProgress.items).toEqual([
      { partition: 4, lastOffset: 12 },
      { partition: 4, lastOffset: 13 },
    ]);
    expect(flat(batches.items).map((change) => change.offset)).toEqual([9, 12]);
  });

  it('delivers changes from every shard with their partition and offset, in order per partition', async () => {
    const { batches } = await openFeed();
    const published: ChangeRecord[][] = [];
    for (let round = 0; round < 3; round++) {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const batch = [upsertChange(`e/${partition}`, partition, round * 2), deleteChange(`d/${partition}`, partition, round * 2 + 1)];
        published.push(batch);
        cluster.publish(partition, batch);
      }
    }
    await batches.untilCount(published.length, 'every published batch');
    expect(batches.items).toHaveLength(published.length);
    // Batches arrive intact (never split or merged) ...
    expect([...batches.items].sort(byFirstPosition)).toEqual([...published].sort(byFirstPosition));
    // ... and each partition's changes in offset order, whatever the interleaving of shards.
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const offsets = flat(batches.items)
        .filter((c) => c.partition === partition)
        .map((c) => c.offset);
      expect(offsets).toEqual([0, 1, 2, 3, 4, 5]);
    }
  });

  it('carries change values as exact JSON (__proto__, integers, large numbers)', async () => {
    const { batches } = await openFeed();
    const value = JSON.parse('{"__proto__":{"polluted":true},"int":1,"float":2.5,"big":9007199254740991}') as unknown;
    const change = upsertChange('json/change', 1, 7, [
      { property: '__proto__', value },
      { property: 'removed', value: null },
      { property: 'lone', value: '\udc00' },
    ]);
    cluster.publish(1, [change]);
    await batches.untilCount(1);
    const received = batches.items[0]![0]!;
    expect(received).toEqual(change);
    if (received.kind !== 'upsert') throw new Error('expected an upsert');
    const first = received.changes[0]!.value as Record<string, unknown>;
    expect(Object.hasOwn(first, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
    expect(first['big']).toBe(Number.MAX_SAFE_INTEGER);
    expect(received.changes[2]!.value).toBe('\udc00');
  });

  it('forwards only the partitions the shard owns', async () => {
    const { batches } = await openFeed();
    const shard0 = cluster.shards[0]!;
    // Partition 1 belongs to shard 1; shard 0's feed carrying it must not duplicate it.
    shard0.feed.publish([upsertChange('foreign', 1, 0)]);
    shard0.feed.publish([upsertChange('mixed-own', 0, 1), upsertChange('mixed-foreign', 1, 1)]);
    shard0.feed.publish([upsertChange('marker', 0, 2)]);
    // One stream keeps order: once the marker is here, anything published before it would be too.
    await batches.until((items) => flat(items).some((c) => c.entityId === 'marker'), 'the marker');
    expect(flat(batches.items).map((c) => c.entityId)).toEqual(['mixed-own', 'marker']);
  });

  it('resumes delivering after a shard restarts', async () => {
    const { batches, shardEvents } = await openFeed();
    const shard = cluster.shards[1]!;
    const partition = shard.partitions[0]!;

    cluster.publish(partition, [upsertChange('before', partition, 100)]);
    await batches.until((items) => flat(items).some((c) => c.entityId === 'before'), 'the change before the restart');

    await shard.restart();
    const down = await shardEvents.until(1, 'disconnected');
    await shardEvents.until(1, 'connected', down);

    cluster.publish(partition, [upsertChange('after', partition, 101)]);
    // The other shards kept their streams.
    cluster.publish(0, [upsertChange('elsewhere', 0, 102)]);
    await batches.until((items) => ['after', 'elsewhere'].every((id) => flat(items).some((c) => c.entityId === id)), 'changes after the restart');
    const after = flat(batches.items).find((c) => c.entityId === 'after')!;
    expect({ partition: after.partition, offset: after.offset }).toEqual({ partition, offset: 101 });
  });

  it("says when a restarted shard's partitions are delivered again", async () => {
    const { feed, shardEvents } = await openFeed();
    const resumed = new Collector<readonly number[]>();
    feed.onResume(resumed.push);
    const shard = cluster.shards[2]!;
    await shard.restart();
    const down = await shardEvents.until(2, 'disconnected');
    await shardEvents.until(2, 'connected', down);
    await resumed.untilCount(1, 'the resume after the restart');
    expect(resumed.items).toEqual([shard.partitions]);
    expect(shard.partitions).toEqual([2, 5]);
  });

  it('waits for a shard that is down, and connects once it is up', async () => {
    const address = await unusedAddress();
    const clients = createShardClients([address]);
    const shardEvents = events();
    const feed = new GrpcChangeFeed({ shards: clients, partitionCount: 1, onShardEvent: shardEvents.push, backoff: { initialMs: 10, maxMs: 50 } });
    feeds.push(feed);
    const batches = new Collector<readonly ChangeRecord[]>();
    feed.subscribe((changes) => batches.push(changes));
    try {
      // The channel tried and failed to connect; the stream waits for it.
      await waitFor(() => clients[0]!.getChannel().getConnectivityState(false) === connectivityState.TRANSIENT_FAILURE, {
        what: 'a failed connection attempt',
      });
      expect(feed.connectedShards).toEqual([false]);

      const local = new MemoryChangeFeed();
      const handle = createStateServiceServer({ reader: cluster.shards[0]!.store, feed: local, partitions: [0], logger: cluster.shards[0]!.logger });
      await handle.listen(address);
      try {
        await shardEvents.until(0, 'connected');
        local.publish([upsertChange('late', 0, 0)]);
        await batches.untilCount(1, 'the change from the late shard');
      } finally {
        feed.close();
        await handle.shutdown(200);
      }
    } finally {
      closeShardClients(clients);
    }
  });

  it('closes its streams when the last listener leaves', async () => {
    const { feed } = await openFeed();
    expect(cluster.shards.every((shard) => shard.feed.listenerCount === 1)).toBe(true);
    expect(cluster.shards.map((shard) => shard.handle.watcherCount)).toEqual([1, 1, 1]);
    const closedLogs = (shard: TestShard): number => shard.logger.entries.items.filter((e) => e.msg === 'watch stream closed').length;
    const before = cluster.shards.map(closedLogs);
    feed.close();
    expect(feed.connectedShards).toEqual([false, false, false]);
    // Cancellation reaches the servers asynchronously: await each shard's log of it.
    for (const shard of cluster.shards) {
      await shard.logger.entries.until(() => closedLogs(shard) > before[shard.index]!, `shard ${shard.index} to close the stream`);
    }
    expect(cluster.shards.map((shard) => shard.feed.listenerCount)).toEqual([0, 0, 0]);
    expect(cluster.shards.map((shard) => shard.handle.watcherCount)).toEqual([0, 0, 0]);
  });
});

describe('Watch backpressure', () => {
  let cluster: TestCluster;
  const MAX_BACKLOG = 256 * 1024;

  beforeAll(async () => {
    cluster = await TestCluster.start({ shardCount: 1, partitionCount: 1, server: { watchMaxBacklogBytes: MAX_BACKLOG } });
  });

  afterAll(() => cluster.close());

  it('ends a stream whose client stopped reading with RESOURCE_EXHAUSTED, and keeps serving readers', async () => {
    const shard = cluster.shards[0]!;
    // A reader that keeps up, through the gateway feed.
    const readingEvents = events();
    const reading = new GrpcChangeFeed({ shards: cluster.clients, partitionCount: 1, onShardEvent: readingEvents.push });
    const received = new Collector<readonly ChangeRecord[]>();
    reading.subscribe((changes) => received.push(changes));
    await readingEvents.until(0, 'connected');

    // A client that stops reading as soon as its stream is open.
    const stalled = cluster.clients[0]!.watch({ outcomesOnly: false }, new Metadata());
    const opened = deferred();
    const ended = deferred<ServiceError>();
    stalled.on('metadata', () => {
      stalled.pause();
      opened.resolve();
    });
    stalled.on('data', () => undefined);
    stalled.on('error', (error: ServiceError) => ended.resolve(error));
    await within(opened.promise, 'the stalled stream to open');
    expect(shard.handle.watcherCount).toBe(2);

    const payload = 'x'.repeat(16 * 1024);
    const batches = 400; // 6.4 MB in total, far beyond what the stalled stream may queue
    let cutAt: number | undefined;
    for (let i = 0; i < batches; i++) {
      shard.feed.publish([upsertChange(`big/${i}`, 0, i, [{ property: 'payload', value: payload }])]);
      // Pace the publisher by the reading client, so only the stalled one falls behind.
      await received.untilCount(i + 1, `batch ${i} at the reading client`);
      if (cutAt === undefined && shard.handle.watcherCount === 1) cutAt = i;
    }
    // Cut after a bounded backlog (client buffers + HTTP/2 windows + 256 KiB), long before the end.
    expect(cutAt).toBeLessThan(100);
    expect(shard.logger.entries.items.some((e) => e.level === 'warn' && e.msg?.includes('too slow'))).toBe(true);

    // The stalled client learns why once it reads again: queued changes, then the status.
    stalled.resume();
    const error = await within(ended.promise, 'the stalled stream to end');
    expect(error.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(error.metadata.get(FLUX_ERROR_CODE_METADATA)).toEqual([ErrorCode.StoreUnavailable]);

    // The reading client got everything, and is still connected.
    expect(received.items).toHaveLength(batches);
    expect(reading.connectedShards).toEqual([true]);
    reading.close();
  });
});

function byFirstPosition(a: readonly ChangeRecord[], b: readonly ChangeRecord[]): number {
  const [x, y] = [a[0]!, b[0]!];
  return x.partition - y.partition || x.offset - y.offset;
}
