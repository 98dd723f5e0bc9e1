/**
 * A query gateway's WebSocket subscribers across a cut of its change stream from a shard. The
 * shard is real and in-process (a reducer over an embedded log into Redis, serving gRPC); the
 * gateway is the real query-gateway process, connected to the shard through a TCP proxy that
 * the test cuts and restores. Changes the shard applies while the proxy is cut never travel the
 * stream, yet a subscriber must end up seeing the entity as it is.
 */
import { randomUUID } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '@flux/core/tooling';
import { describeWithRedis, waitFor } from '@flux/core/testing';
import type { Properties } from '@flux/domain';
import { createStateServiceServer, type StateServiceServerHandle } from '@flux/grpc';
import { LocalReducers } from './support/local-reducers.js';
import { QueryGatewayProcess } from './support/query-gateway-process.js';
import { Subscriber } from './support/subscriber.js';

const PARTITIONS = 4;
const PARTITION_LIST = Array.from({ length: PARTITIONS }, (_, partition) => partition);

/** A TCP proxy whose connections can be cut (and new ones refused) and then allowed again. */
class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly port: number,
    private readonly target: number,
  ) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: this.target });
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolveListen) => server.listen(this.port, '127.0.0.1', resolveListen));
    this.server = server;
  }

  /** Drops every connection and refuses new ones until `open` is called again. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

describeWithRedis('query gateway WebSocket subscribers across a cut of the shard stream', (redisUrl) => {
  const prefix = `flux-test:${randomUUID()}:`;
  let state: LocalReducers;
  let shard: StateServiceServerHandle;
  let proxy: CuttableProxy;
  let gateway: QueryGatewayProcess | undefined;
  const subscribers: Subscriber[] = [];

  const apply = (entityId: string, properties: Properties): Promise<void> => state.apply(entityId, properties);
  const current = (entityId: string): Promise<Properties | undefined> => state.current(entityId);

  beforeAll(async () => {
    state = await LocalReducers.start(redisUrl, prefix, PARTITIONS);
    shard = createStateServiceServer({
      reader: state.store,
      feed: state.feed,
      partitions: PARTITION_LIST,
      partitionCount: PARTITIONS,
      logger: pino({ level: 'silent' }),
    });
    const shardPort = await shard.listen('127.0.0.1:0');
    shard.setReady();
    proxy = new CuttableProxy(await freePort(), shardPort);
    await proxy.open();

    gateway = await QueryGatewayProcess.start({
      redisUrl,
      keyPrefix: prefix,
      partitionCount: PARTITIONS,
      env: { FLUX_SHARD_ADDRESSES: `127.0.0.1:${proxy.port}` },
    });
  }, 90_000);

  afterAll(async () => {
    for (const subscriber of subscribers) subscriber.socket.terminate();
    await gateway?.stop();
    await proxy?.cut();
    await shard?.shutdown(200);
    await state?.stop();
  });

  const subscriberFor = async (...entityIds: string[]): Promise<Subscriber> => {
    const subscriber = await Subscriber.connect(`${gateway!.baseUrl.replace('http', 'ws')}/api/ws`);
    subscribers.push(subscriber);
    for (const id of entityIds) subscriber.subscribe(id);
    return subscriber;
  };

  it('a subscriber receives what the shard applied while its stream was cut, once the stream is back', async () => {
    const changed = 'gap/changed';
    const deleted = 'gap/deleted';
    const subscriber = await subscriberFor(changed, deleted);
    // The subscriptions are in place once an update for them arrives.
    await waitFor(
      async () => {
        await apply(changed, { a: 1, b: 1 });
        await apply(deleted, { c: 1 });
        return subscriber.sees(changed, { a: 1, b: 1 }) && subscriber.sees(deleted, { c: 1 });
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'the subscriber to follow both entities' },
    );

    await proxy.cut();
    await apply(changed, { a: 2, b: null, d: 'new' });
    await apply(deleted, { __deleted__: true });
    await proxy.open();

    expect(await current(changed)).toEqual({ a: 2, d: 'new' });
    expect(await current(deleted)).toBeUndefined();
    await subscriber.converges(changed, { a: 2, d: 'new' }, 'the change made during the cut');
    await subscriber.converges(deleted, {}, 'the deletion made during the cut');
  });

  it('an entity deleted and re-created during the cut loses its old properties for the subscriber', async () => {
    const id = 'gap/recreated';
    const subscriber = await subscriberFor(id);
    await waitFor(
      async () => {
        await apply(id, { old: 1 });
        return subscriber.sees(id, { old: 1 });
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'the subscriber to follow the entity' },
    );

    await proxy.cut();
    await apply(id, { __deleted__: true });
    await apply(id, { fresh: 1 });
    await proxy.open();

    await subscriber.converges(id, { fresh: 1 }, 'only the re-created entity');
  });
});
