/**
 * The real query-gateway process with FLUX_REDUCER_ASSIGNMENT=elastic: it finds the shards in
 * the partition map in Redis (no FLUX_SHARD_ADDRESSES) and follows it as partitions move. The
 * shards are in-process gRPC servers over the Redis state that local reducers apply; the test
 * moves partitions between them the way elastic reducers do (the old owner lets go, the new one
 * claims, then publishes a map entry with a higher epoch).
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithRedis } from '@flux/core/testing';
import { partitionFor, type Properties } from '@flux/domain';
import { createStateServiceServer, OwnedPartitions, type StateServiceServerHandle } from '@flux/grpc';
import { LocalReducers } from './support/local-reducers.js';
import { QueryGatewayProcess } from './support/query-gateway-process.js';
import { Subscriber } from './support/subscriber.js';

const PARTITIONS = 4;

/** One entity id per partition. */
const IDS: readonly string[] = Array.from({ length: PARTITIONS }, (_, partition) => {
  for (let i = 0; ; i++) if (partitionFor(`elastic/${i}`, PARTITIONS) === partition) return `elastic/${i}`;
});

interface Shard {
  readonly ownership: OwnedPartitions;
  readonly handle: StateServiceServerHandle;
  readonly address: string;
}

describeWithRedis('query gateway over elastic reducers', (redisUrl) => {
  const prefix = `flux-test:${randomUUID()}:`;
  const mapKey = `${prefix}{flux-reducers}:map`;
  let state: LocalReducers;
  let shards: [Shard, Shard];
  let gateway: QueryGatewayProcess | undefined;
  let subscriber: Subscriber | undefined;
  let epoch = 0;

  const move = async (to: Shard, ...partitions: number[]): Promise<void> => {
    epoch += 1;
    for (const partition of partitions) {
      for (const shard of shards) shard.ownership.disown(partition);
      to.ownership.own(partition);
      await state.redis.hset(mapKey, String(partition), JSON.stringify({ memberId: to.address, address: to.address, epoch }));
    }
  };

  const read = async (id: string): Promise<{ status: number; stale: boolean; properties?: Properties }> => {
    const response = await fetch(`${gateway!.baseUrl}/api/state/entities/${encodeURIComponent(id)}`);
    const body = (await response.json()) as { properties?: Properties };
    return {
      status: response.status,
      stale: response.headers.get('flux-stale') === 'true',
      ...(body.properties === undefined ? {} : { properties: body.properties }),
    };
  };

  beforeAll(async () => {
    state = await LocalReducers.start(redisUrl, prefix, PARTITIONS);
    const start = async (): Promise<Shard> => {
      const ownership = new OwnedPartitions();
      const handle = createStateServiceServer({
        reader: state.store,
        readerFor: (partitions) => state.store.forPartitions(partitions),
        feed: state.feed,
        ownership,
        partitionCount: PARTITIONS,
        logger: pino({ level: 'silent' }),
      });
      const address = `127.0.0.1:${await handle.listen('127.0.0.1:0')}`;
      handle.setReady();
      return { ownership, handle, address };
    };
    shards = [await start(), await start()];
    await move(shards[0], 0, 1);
    await move(shards[1], 2, 3);
    for (const id of IDS) await state.apply(id, { v: 1 });
    gateway = await QueryGatewayProcess.start({
      redisUrl,
      keyPrefix: prefix,
      partitionCount: PARTITIONS,
      env: { FLUX_REDUCER_ASSIGNMENT: 'elastic' },
    });
  }, 90_000);

  afterAll(async () => {
    subscriber?.socket.terminate();
    await gateway?.stop();
    await Promise.all((shards ?? []).map((shard) => shard.handle.shutdown(200)));
    await state?.stop();
  });

  it('reads every partition from its owner in the map', async () => {
    for (const id of IDS) expect(await read(id)).toEqual({ status: 200, stale: false, properties: { v: 1 } });
    const list = await fetch(`${gateway!.baseUrl}/api/state/entities?prefix=elastic/`);
    expect(list.status).toBe(200);
    expect(list.headers.get('flux-stale')).toBeNull();
    expect(((await list.json()) as { id: string }[]).map((entity) => entity.id).sort()).toEqual([...IDS].sort());
  });

  it('reads a moved partition at its new owner, and a partition without owner from Redis, marked stale', async () => {
    const [a, b] = shards;
    await move(b, 1);
    // The gateway's map is behind: the old owner answers misrouted, the gateway looks again.
    expect(await read(IDS[1]!)).toEqual({ status: 200, stale: false, properties: { v: 1 } });

    b.ownership.disown(3);
    await state.redis.hdel(mapKey, '3');
    expect(await read(IDS[3]!)).toEqual({ status: 200, stale: true, properties: { v: 1 } });

    await move(a, 3);
    expect(await read(IDS[3]!)).toEqual({ status: 200, stale: false, properties: { v: 1 } });
  });

  it('keeps a WebSocket subscriber informed across a move of its entity’s partition', async () => {
    const [a, b] = shards;
    const id = IDS[0]!;
    await move(a, 0);
    subscriber = await Subscriber.connect(`${gateway!.baseUrl.replace('http', 'ws')}/api/ws`);
    subscriber.subscribe(id);
    await state.apply(id, { v: 2 });
    await subscriber.converges(id, { v: 2 }, 'the change before the move');

    await move(b, 0);
    await state.apply(id, { v: 3 });
    await subscriber.converges(id, { v: 3 }, 'the change after the move');
  });
});
