import { afterEach, describe, expect, it } from 'vitest';
import { connectivityState } from '@grpc/grpc-js';
import { quietPeriod, waitFor } from '@flux/core/testing';
import {
  closeShardClients,
  createShardClients,
  PartitionMapRouter,
  StaticShardRouter,
  type ShardRouter,
  type StateServiceClient,
} from '../src/index.js';
import { ArrayPartitionMap } from './support/array-partition-map.js';
import { recordingLogger } from './support/cluster.js';

// Clients connect lazily: nothing needs to listen at these addresses.
const A = '127.0.0.1:1';
const B = '127.0.0.1:2';
const C = '127.0.0.1:3';

const isClosed = (client: StateServiceClient): boolean => client.getChannel().getConnectivityState(false) === connectivityState.SHUTDOWN;
const layout = (router: ShardRouter): [string, readonly number[]][] => router.targets().map((target) => [target.address, target.partitions]);

describe('StaticShardRouter', () => {
  it('routes partition p to shard p % n, for good', async () => {
    const clients = createShardClients([A, B, C]);
    const router = new StaticShardRouter({ shards: clients, partitionCount: 8 });
    expect(layout(router)).toEqual([
      [A, [0, 3, 6]],
      [B, [1, 4, 7]],
      [C, [2, 5]],
    ]);
    expect(router.targets().map((target) => target.shard)).toEqual([0, 1, 2]);
    expect(router.ownerOf(4)?.client).toBe(clients[1]);
    expect(router.ownerOf(5)?.shard).toBe(2);
    expect(router.ownerOf(8)).toBeUndefined();
    expect(router.unowned()).toEqual([]);
    await router.refresh();
    expect(router.version).toBe(0);
    // The clients are the caller's.
    router.close();
    expect(clients.some(isClosed)).toBe(false);
    closeShardClients(clients);
  });

  it('closes the clients it made itself', () => {
    const router = StaticShardRouter.fromAddresses([A, B], 4);
    const clients = router.targets().map((target) => target.client);
    expect(layout(router)).toEqual([
      [A, [0, 2]],
      [B, [1, 3]],
    ]);
    router.close();
    expect(clients.every(isClosed)).toBe(true);
  });
});

describe('PartitionMapRouter', () => {
  const routers: PartitionMapRouter[] = [];
  const start = (map: ArrayPartitionMap, pollIntervalMs = 60_000, logger = recordingLogger()): PartitionMapRouter => {
    const router = new PartitionMapRouter({ map, partitionCount: 4, pollIntervalMs, logger });
    routers.push(router);
    return router;
  };

  afterEach(() => {
    for (const router of routers.splice(0)) router.close();
  });

  it('routes by the map, and picks up a moved partition when refreshed', async () => {
    const map = new ArrayPartitionMap();
    map.assign(A, 1, 0, 1);
    map.assign(B, 1, 2);
    const router = start(map);
    const changes: number[] = [];
    router.onChange(() => changes.push(router.version));
    await router.refresh();
    expect(layout(router)).toEqual([
      [A, [0, 1]],
      [B, [2]],
    ]);
    expect(router.targets().map((target) => target.shard)).toEqual([A, B]);
    expect(router.unowned()).toEqual([3]);
    expect(router.ownerOf(3)).toBeUndefined();
    const clientOfA = router.ownerOf(0)!.client;

    map.assign(B, 2, 1);
    expect(router.ownerOf(1)?.address).toBe(A); // until it reads the map again
    await router.refresh();
    expect(router.ownerOf(1)?.address).toBe(B);
    expect(layout(router)).toEqual([
      [A, [0]],
      [B, [1, 2]],
    ]);
    // One client per address, kept while the address serves anything.
    expect(router.ownerOf(0)!.client).toBe(clientOfA);
    expect(router.ownerOf(1)!.client).toBe(router.ownerOf(2)!.client);
    expect(changes).toHaveLength(2);

    // Reading the same map again changes nothing.
    const version = router.version;
    await router.refresh();
    expect(router.version).toBe(version);
    expect(changes).toHaveLength(2);
  });

  it('ignores entries with a lower epoch than one already seen for their partition', async () => {
    const map = new ArrayPartitionMap();
    map.assign(A, 5, 0);
    const router = start(map);
    await router.refresh();
    expect(router.ownerOf(0)?.address).toBe(A);

    map.assign(B, 4, 0); // a stale read: the claim at epoch 4 lost to A's at 5
    await router.refresh();
    expect(router.ownerOf(0)?.address).toBe(A);

    map.release(0); // handed over
    await router.refresh();
    expect(router.ownerOf(0)).toBeUndefined();
    map.assign(B, 4, 0);
    await router.refresh();
    expect(router.ownerOf(0)).toBeUndefined();

    map.assign(B, 6, 0);
    await router.refresh();
    expect(router.ownerOf(0)?.address).toBe(B);
    // Same epoch, read again: still B.
    await router.refresh();
    expect(router.ownerOf(0)?.address).toBe(B);
  });

  it('closes the client of an address no partition maps to any more', async () => {
    const map = new ArrayPartitionMap();
    map.assign(A, 1, 0);
    map.assign(B, 1, 1, 2, 3);
    const router = start(map);
    await router.refresh();
    const [clientOfA, clientOfB] = [router.ownerOf(0)!.client, router.ownerOf(1)!.client];

    map.assign(B, 2, 0);
    await router.refresh();
    expect(isClosed(clientOfA)).toBe(true);
    expect(isClosed(clientOfB)).toBe(false);
    expect(layout(router)).toEqual([[B, [0, 1, 2, 3]]]);

    // Back at A: a new client.
    map.assign(A, 3, 3);
    await router.refresh();
    expect(router.ownerOf(3)!.client).not.toBe(clientOfA);
    expect(isClosed(router.ownerOf(3)!.client)).toBe(false);

    const clients = router.targets().map((target) => target.client);
    router.close();
    expect(clients.every(isClosed)).toBe(true);
    expect(router.targets()).toEqual([]);
  });

  it('shares one read among concurrent refreshes, and reads again after a read already under way', async () => {
    const map = new ArrayPartitionMap();
    map.assign(A, 1, 0, 1, 2, 3);
    const gate = map.hold();
    const router = start(map); // its first read is under way, held
    expect(map.reads).toBe(1);
    map.assign(B, 2, 3); // published after that read started
    const first = router.refresh();
    const second = router.refresh();
    expect(second).toBe(first);
    expect(map.reads).toBe(1);
    gate.open();
    await Promise.all([first, second]);
    expect(map.reads).toBe(2);
    expect(router.ownerOf(3)?.address).toBe(B);
  });

  it('keeps routing as it was while the map cannot be read', async () => {
    const map = new ArrayPartitionMap();
    map.assign(A, 1, 0, 1, 2, 3);
    const logger = recordingLogger();
    const router = start(map, 60_000, logger);
    await router.refresh();
    map.failure = new Error('Redis down');
    map.release(0, 1, 2, 3);
    await router.refresh();
    await router.refresh();
    expect(router.ownerOf(2)?.address).toBe(A);
    expect(logger.entries.items.filter((entry) => entry.msg?.includes('could not be read'))).toHaveLength(1);
    map.failure = undefined;
    await router.refresh();
    expect(router.unowned()).toEqual([0, 1, 2, 3]);
    expect(router.targets()).toEqual([]);
  });

  it('polls the map, and stops when closed', async () => {
    const map = new ArrayPartitionMap();
    const router = start(map, 10);
    map.assign(C, 1, 1);
    await waitFor(() => router.ownerOf(1)?.address === C, { what: 'the poll to find partition 1' });
    router.close();
    const reads = map.reads;
    await quietPeriod(100);
    expect(map.reads).toBe(reads);
  });
});
