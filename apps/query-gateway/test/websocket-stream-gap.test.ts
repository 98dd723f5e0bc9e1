/**
 * A query gateway's WebSocket subscribers across a cut of its change stream from a shard. The
 * shard is real and in-process (a reducer over an embedded log into Redis, serving gRPC); the
 * gateway is the real query-gateway process, connected to the shard through a TCP proxy that
 * the test cuts and restores. Changes the shard applies while the proxy is cut never travel the
 * stream, yet a subscriber must end up seeing the entity as it is.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryChangeFeed, ReducerGroup } from '@flux/core';
import { freePort, signalProcessGroup, waitUntilReady, watchedChild } from '@flux/core/tooling';
import { describeWithRedis, waitFor } from '@flux/core/testing';
import { encodeEvent, partitionFor, type FluxEvent, type Properties } from '@flux/domain';
import { LmdbEventLog } from '@flux/embedded';
import { createStateServiceServer, type StateServiceServerHandle } from '@flux/grpc';
import { connectRedis, deleteKeysWithPrefix, RedisStateStore } from '@flux/redis';
import type { Redis } from 'ioredis';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const PARTITIONS = 4;
const PARTITION_LIST = Array.from({ length: PARTITIONS }, (_, partition) => partition);
/** Reconnecting takes the gateway's backoff (up to 5 s) plus its catch-up. */
const CONVERGE_MS = 20_000;

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

/** What a WebSocket subscriber knows of each entity, from the messages it received. */
class Subscriber {
  readonly view = new Map<string, Map<string, unknown>>();
  readonly messages: Record<string, unknown>[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Record<string, unknown>;
      this.messages.push(message);
      const id = message.entity_id;
      if (typeof id !== 'string') return;
      if (message.type === 'entity_deleted') this.view.set(id, new Map());
      if (message.type !== 'state_update') return;
      const properties = this.view.get(id) ?? new Map<string, unknown>();
      if (message.value === null) properties.delete(message.property as string);
      else properties.set(message.property as string, message.value);
      this.view.set(id, properties);
    });
  }

  static async connect(url: string): Promise<Subscriber> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolveOpen, reject) => {
      socket.once('open', () => resolveOpen());
      socket.once('error', reject);
    });
    return new Subscriber(socket);
  }

  subscribe(entityId: string): void {
    this.socket.send(JSON.stringify({ type: 'subscribe', entity_id: entityId }));
  }

  /** Resolves once the subscriber's view of `entityId` is exactly `properties`. */
  async converges(entityId: string, properties: Properties, what: string): Promise<void> {
    try {
      await waitFor(() => this.sees(entityId, properties), { timeoutMs: CONVERGE_MS, what });
    } catch (error) {
      const seen = Object.fromEntries(this.view.get(entityId) ?? []);
      throw new Error(`${(error as Error).message}: it sees ${JSON.stringify(seen)}, not ${JSON.stringify(properties)}`);
    }
  }

  sees(entityId: string, properties: Properties): boolean {
    const seen = this.view.get(entityId) ?? new Map<string, unknown>();
    const expected = Object.entries(properties);
    return seen.size === expected.length && expected.every(([name, value]) => JSON.stringify(seen.get(name)) === JSON.stringify(value));
  }
}

describeWithRedis('query gateway WebSocket subscribers across a cut of the shard stream', (redisUrl) => {
  const prefix = `flux-test:${randomUUID()}:`;
  let dir: string;
  let redis: Redis;
  let log: LmdbEventLog;
  let store: RedisStateStore;
  let reducers: ReducerGroup;
  let shard: StateServiceServerHandle;
  let proxy: CuttableProxy;
  let ingest: HttpServer;
  let gateway: ChildProcess | undefined;
  let baseUrl: string;
  const output: string[] = [];
  const subscribers: Subscriber[] = [];
  let sequence = 0;

  /** Appends one event through the embedded log and waits until the shard applied it. */
  const apply = async (entityId: string, properties: Properties): Promise<void> => {
    const event: FluxEvent = {
      eventId: `gap-${++sequence}`,
      stream: 'gap.test',
      source: 'gap-suite',
      timestamp: Date.now(),
      payload: { entity_id: entityId, properties },
    };
    const positions = await log.append([{ partition: partitionFor(entityId, PARTITIONS), key: entityId, value: encodeEvent(event) }]);
    await reducers.waitFor(positions);
  };

  const current = async (entityId: string): Promise<Properties | undefined> => (await store.getEntity(entityId))?.properties;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flux-gap-'));
    redis = await connectRedis(redisUrl, { connectionName: 'flux-gap-suite' });
    log = LmdbEventLog.open({ path: dir, partitionCount: PARTITIONS });
    store = new RedisStateStore({ client: redis, partitionCount: PARTITIONS, keyPrefix: prefix });
    const feed = new MemoryChangeFeed();
    const logger = pino({ level: 'silent' });
    reducers = new ReducerGroup({ partitions: PARTITION_LIST, log, store, feed, logger });
    await reducers.start();
    shard = createStateServiceServer({ reader: store, feed, partitions: PARTITION_LIST, partitionCount: PARTITIONS, logger });
    const shardPort = await shard.listen('127.0.0.1:0');
    shard.setReady();
    proxy = new CuttableProxy(await freePort(), shardPort);
    await proxy.open();

    // The gateway is ready only once its ingest gateway is: a stand-in answers /ready.
    ingest = createHttpServer((_request, response) => response.end('{}'));
    await new Promise<void>((resolveListen) => ingest.listen(0, '127.0.0.1', resolveListen));
    const ingestPort = (ingest.address() as { port: number }).port;

    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    gateway = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/query-gateway/src/main.ts')], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL: redisUrl,
        FLUX_REDIS_KEY_PREFIX: prefix,
        // Never contacted: the gateway opens Kafka only to delete a namespace.
        KAFKA_BROKERS: '127.0.0.1:9',
        FLUX_PARTITIONS: String(PARTITIONS),
        FLUX_SHARD_ADDRESSES: `127.0.0.1:${proxy.port}`,
        FLUX_INGEST_URL: `http://127.0.0.1:${ingestPort}`,
        FLUX_LOG_LEVEL: 'info',
      },
    });
    for (const stream of [gateway.stdout!, gateway.stderr!]) stream.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    await waitUntilReady(
      baseUrl,
      60_000,
      watchedChild('the query gateway', gateway, () => output.join('')),
    );
  }, 90_000);

  afterAll(async () => {
    for (const subscriber of subscribers) subscriber.socket.terminate();
    if (gateway?.pid !== undefined && gateway.exitCode === null) {
      const exited = new Promise((resolveExit) => gateway!.once('exit', resolveExit));
      signalProcessGroup(gateway.pid, 'SIGKILL');
      await exited;
    }
    await proxy?.cut();
    await new Promise((resolveClose) => ingest?.close(resolveClose));
    await shard?.shutdown(200);
    await reducers?.stop();
    await log?.close();
    if (redis !== undefined) {
      await deleteKeysWithPrefix(redis, prefix);
      await redis.quit();
    }
    await rm(dir, { recursive: true, force: true });
  });

  const subscriberFor = async (...entityIds: string[]): Promise<Subscriber> => {
    const subscriber = await Subscriber.connect(`${baseUrl.replace('http', 'ws')}/api/ws`);
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
