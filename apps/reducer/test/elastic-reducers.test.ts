/**
 * Elastic reducers sharing partitions through the real Redis registry, over one embedded log
 * and state store (two members in one process stand for two reducer processes; the claim fence
 * in the store is the same one Redis keeps). A steady writer runs throughout, and afterwards
 * every entity's version must equal the events written to it: nothing lost, nothing twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ElasticReducers, EventAppender, type Membership, type ReducerMember, type ReducerRegistry } from '@flux/core';
import { describeWithRedis, waitFor } from '@flux/core/testing';
import { assignPartitions, newEventId } from '@flux/domain';
import { openEmbedded, type Embedded } from '@flux/embedded';
import { connectRedis, deleteKeysWithPrefix, RedisReducerRegistry } from '@flux/redis';

const PARTITIONS = 8;
const ENTITIES = 40;
const LEASE_MS = 1_000;
const logger = pino({ level: 'silent' });

/** The real registry, with a switch that makes one member's heartbeats fail (cut off from Redis). */
class SeverableRegistry implements ReducerRegistry {
  readonly severed = new Set<string>();
  constructor(private readonly inner: ReducerRegistry) {}
  heartbeat(member: ReducerMember, leaseMs: number): Promise<Membership> {
    if (this.severed.has(member.id)) return Promise.reject(new Error(`${member.id} is cut off`));
    return this.inner.heartbeat(member, leaseMs);
  }
  leave = (memberId: string): Promise<void> => this.inner.leave(memberId);
  publishOwner = (...args: Parameters<ReducerRegistry['publishOwner']>): Promise<boolean> => this.inner.publishOwner(...args);
  releaseOwner = (...args: Parameters<ReducerRegistry['releaseOwner']>): Promise<void> => this.inner.releaseOwner(...args);
  partitionMap = (): ReturnType<ReducerRegistry['partitionMap']> => this.inner.partitionMap();
}

describeWithRedis('elastic reducers', (url) => {
  let dir: string;
  let embedded: Embedded;
  let redis: Redis;
  let prefix: string;
  let registry: SeverableRegistry;
  const members: ElasticReducers[] = [];
  let writing = false;
  let writer: Promise<void> | undefined;
  const written = new Array<number>(ENTITIES).fill(0);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flux-elastic-'));
    embedded = await openEmbedded({ dataDir: dir, partitionCount: PARTITIONS });
    redis = await connectRedis(url, { connectionName: 'elastic-test' });
    prefix = `flux-elastic-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:`;
    registry = new SeverableRegistry(new RedisReducerRegistry({ client: redis, keyPrefix: prefix }));
    written.fill(0);
  });

  afterEach(async () => {
    writing = false;
    await writer;
    await Promise.all(members.splice(0).map((member) => member.stop()));
    await embedded.close();
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
    await rm(dir, { recursive: true, force: true });
  });

  const member = (id: string, options: { leaseMs?: number } = {}): ElasticReducers => {
    const reducers = new ElasticReducers({
      registry,
      member: { id, address: `127.0.0.1:${5000 + members.length}` },
      partitionCount: PARTITIONS,
      leaseMs: options.leaseMs ?? LEASE_MS,
      log: embedded.log,
      store: embedded.state,
      feed: embedded.feed,
      logger,
      claimCheckIntervalMs: 200,
    });
    members.push(reducers);
    return reducers;
  };

  const startWriting = (): void => {
    const appender = new EventAppender(embedded.log);
    writing = true;
    writer = (async () => {
      for (let n = 0; writing; n++) {
        const entity = n % ENTITIES;
        await appender.append([
          {
            eventId: newEventId(),
            stream: 'elastic',
            source: 'elastic-test',
            timestamp: Date.now(),
            payload: { entity_id: `elastic/e${entity}`, properties: { n } },
          },
        ]);
        written[entity]! += 1;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
  };

  /** Stops the writer and waits until every entity shows every event written to it, once. */
  const expectExactlyOnce = async (): Promise<void> => {
    writing = false;
    await writer;
    for (let entity = 0; entity < ENTITIES; entity++) {
      await waitFor(async () => (await embedded.state.getEntity(`elastic/e${entity}`))?.version === written[entity], {
        timeoutMs: 10_000,
        what: `elastic/e${entity} to reach version ${written[entity]}`,
      }).catch(() => undefined);
      expect((await embedded.state.getEntity(`elastic/e${entity}`))?.version, `elastic/e${entity}`).toBe(written[entity]);
    }
  };

  const mapOwners = async (): Promise<Record<number, string>> =>
    Object.fromEntries((await registry.partitionMap()).map((owner) => [owner.partition, owner.memberId]));

  const assignedOwners = (ids: string[]): Record<number, string> => {
    const owners: Record<number, string> = {};
    for (const [id, partitions] of assignPartitions(ids, PARTITIONS)) for (const p of partitions) owners[p] = id;
    return owners;
  };

  it('a lone member takes every partition and publishes each in the map', async () => {
    const a = member('a');
    await a.start();
    expect(a.ownedPartitions()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(await mapOwners()).toEqual(assignedOwners(['a']));
  });

  it('members joining and leaving under load share the partitions as assigned, applying every event once', async () => {
    const a = member('a');
    await a.start();
    startWriting();
    const b = member('b');
    const c = member('c');
    await Promise.all([b.start(), c.start()]);
    await waitFor(async () => JSON.stringify(await mapOwners()) === JSON.stringify(assignedOwners(['a', 'b', 'c'])), {
      timeoutMs: 10_000,
      what: 'the map to show the partitions shared by a, b and c',
    });
    expect([...a.ownedPartitions(), ...b.ownedPartitions(), ...c.ownedPartitions()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // b leaves cleanly: a and c take its partitions over without waiting for its lease.
    await b.stop();
    await waitFor(async () => JSON.stringify(await mapOwners()) === JSON.stringify(assignedOwners(['a', 'c'])), {
      timeoutMs: LEASE_MS,
      what: 'a and c to take over b’s partitions before its lease would run out',
    });
    await expectExactlyOnce();
  });

  it('a member cut off from the registry lets go once its lease may have run out; the others take over and fence it', async () => {
    const a = member('a');
    const b = member('b');
    await a.start();
    await b.start();
    startWriting();
    await waitFor(async () => JSON.stringify(await mapOwners()) === JSON.stringify(assignedOwners(['a', 'b'])), {
      timeoutMs: 10_000,
      what: 'a and b to share the partitions',
    });
    registry.severed.add('b');
    await waitFor(() => b.partitionsOwned === 0, { timeoutMs: 5 * LEASE_MS, what: 'b to stop applying' });
    await waitFor(async () => JSON.stringify(await mapOwners()) === JSON.stringify(assignedOwners(['a'])), {
      timeoutMs: 5 * LEASE_MS,
      what: 'a to take every partition',
    });
    // Back in touch, b is a member again and gets its share back by fresh claims.
    registry.severed.delete('b');
    await waitFor(async () => JSON.stringify(await mapOwners()) === JSON.stringify(assignedOwners(['a', 'b'])), {
      timeoutMs: 10_000,
      what: 'b to get its share back',
    });
    await expectExactlyOnce();
  });
});
