import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { MemoryChangeFeed, ReducerGroup } from '@flux/core';
import { encodeEvent, partitionFor, type FluxEvent, type Properties } from '@flux/domain';
import { LmdbEventLog } from '@flux/embedded';
import { connectRedis, deleteKeysWithPrefix, RedisStateStore } from '@flux/redis';
import type { Redis } from 'ioredis';

/**
 * Reducers applying every partition of an embedded log into Redis, in this process: the state
 * and the change feed that shard servers of a test serve to the gateway under test.
 */
export class LocalReducers {
  private sequence = 0;

  private constructor(
    readonly redis: Redis,
    readonly store: RedisStateStore,
    /** The changes the reducers apply, as they commit them. */
    readonly feed: MemoryChangeFeed,
    private readonly log: LmdbEventLog,
    private readonly reducers: ReducerGroup,
    private readonly dir: string,
    private readonly keyPrefix: string,
  ) {}

  static async start(redisUrl: string, keyPrefix: string, partitionCount: number): Promise<LocalReducers> {
    const dir = await mkdtemp(join(tmpdir(), 'flux-gateway-suite-'));
    const redis = await connectRedis(redisUrl, { connectionName: 'flux-gateway-suite' });
    const log = LmdbEventLog.open({ path: dir, partitionCount });
    const store = new RedisStateStore({ client: redis, partitionCount, keyPrefix });
    const feed = new MemoryChangeFeed();
    const partitions = Array.from({ length: partitionCount }, (_, partition) => partition);
    const reducers = new ReducerGroup({ partitions, log, store, feed, logger: pino({ level: 'silent' }) });
    await reducers.start();
    return new LocalReducers(redis, store, feed, log, reducers, dir, keyPrefix);
  }

  /** Appends one event through the embedded log and waits until it is applied. */
  async apply(entityId: string, properties: Properties): Promise<void> {
    const event: FluxEvent = {
      eventId: `suite-${++this.sequence}`,
      stream: 'gateway.test',
      source: 'gateway-suite',
      timestamp: Date.now(),
      payload: { entity_id: entityId, properties },
    };
    const positions = await this.log.append([
      { partition: partitionFor(entityId, this.store.partitionCount), key: entityId, value: encodeEvent(event) },
    ]);
    await this.reducers.waitFor(positions);
  }

  async current(entityId: string): Promise<Properties | undefined> {
    return (await this.store.getEntity(entityId))?.properties;
  }

  async stop(): Promise<void> {
    await this.reducers.stop();
    await this.log.close();
    await deleteKeysWithPrefix(this.redis, this.keyPrefix);
    await this.redis.quit();
    await rm(this.dir, { recursive: true, force: true });
  }
}
