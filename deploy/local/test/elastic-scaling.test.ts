/**
 * Elastic reducers on real Kafka and Redis, under a steady stream of events published with
 * `wait=applied`: the reducers are scaled 3 → 5 → 2 while the stream runs, then one is
 * paused with SIGSTOP (partitioned away) until the other takes its partitions over, and woken.
 * Afterwards every acknowledged event must be applied exactly once. The longest `wait=applied`
 * answer of each partition during each phase is how long that partition stalled; the test
 * prints them.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { freePort, waitUntilReady, watchedChild } from '@flux/core/tooling';
import { describeWithKafka, waitFor } from '@flux/core/testing';
import { assignPartitions } from '@flux/domain';
import { deleteKafkaTopics } from '@flux/kafka';
import { connectRedis, deleteKeysWithPrefix, RedisReducerRegistry } from '@flux/redis';
import { isAlive, startProcess, stopGroup } from './support/processes.js';
import { SteadyStream } from './support/steady-stream.js';

const PARTITIONS = 12;
const LEASE_MS = 3_000;
/** The reducer whose commit the fence refused logs this (see RedisStateStore.commit). */
const FENCED_MESSAGE = 'owned by a newer claim';
const LEASE_LOST_MESSAGE = 'membership lease ran out';

describeWithKafka('elastic reducers: scaling 3 → 5 → 2 and a paused reducer, under load', (brokers) => {
  const output: string[] = [];
  const reducers = new Map<string, { child: ChildProcess; lines: string[] }>();
  const stalls: Record<string, { partition: number; ms: number }[]> = {};
  let cluster: ChildProcess | undefined;
  let stream: SteadyStream;
  let env: NodeJS.ProcessEnv;
  let redis: Redis;
  let registry: RedisReducerRegistry;
  let prefix: string;

  const startReducer = async (id: string): Promise<void> => {
    const lines: string[] = [];
    const child = startProcess(
      process.execPath,
      ['--import', 'tsx', 'apps/reducer/src/main.ts'],
      {
        ...env,
        FLUX_REDUCER_ID: id,
        GRPC_HOST: '127.0.0.1',
        FLUX_ADVERTISED_HOST: '127.0.0.1',
        GRPC_PORT: String(await freePort()),
        FLUX_METRICS_PORT: '0',
        FLUX_LOG_LEVEL: 'info',
      },
      output,
      (line) => {
        if (line.includes(FENCED_MESSAGE) || line.includes(LEASE_LOST_MESSAGE)) lines.push(line);
      },
    );
    reducers.set(id, { child, lines });
  };

  /** Resolves once the published map gives every partition to the member the assignment over `ids` names. */
  const settledOn = async (ids: string[], what: string): Promise<void> => {
    const want = new Map<number, string>();
    for (const [id, partitions] of assignPartitions(ids, PARTITIONS)) for (const p of partitions) want.set(p, id);
    await waitFor(
      async () => {
        const map = await registry.partitionMap();
        return map.length === PARTITIONS && map.every((owner) => want.get(owner.partition) === owner.memberId);
      },
      { timeoutMs: 60_000, what },
    );
  };

  /** Runs a phase, then records each partition's longest applied answer during it. */
  const phase = async (name: string, run: () => Promise<void>): Promise<void> => {
    stream.resetStalls();
    await run();
    await stream.waitForProgress(100, `events applied after: ${name}`);
    stalls[name] = stream.stalls();
  };

  beforeAll(async () => {
    const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    prefix = `flux-elastic-${id}:`;
    const port = await freePort();
    env = {
      ...process.env,
      KAFKA_BROKERS: brokers.join(','),
      FLUX_KAFKA_TOPIC: `flux-elastic-${id}`,
      FLUX_REDIS_KEY_PREFIX: prefix,
      FLUX_PARTITIONS: String(PARTITIONS),
      FLUX_REDUCER_ASSIGNMENT: 'elastic',
      FLUX_REDUCER_LEASE_MS: String(LEASE_MS),
      FLUX_LOG_LEVEL: 'warn',
      PORT: String(port),
      FLUX_CLUSTER_HOST: '127.0.0.1',
      // The test starts and stops the reducers itself.
      FLUX_CLUSTER_SHARDS: '0',
    };
    redis = await connectRedis(process.env.REDIS_URL ?? '', { connectionName: 'elastic-scaling-test' });
    registry = new RedisReducerRegistry({ client: redis, keyPrefix: prefix });
    for (const reducer of ['reducer-0', 'reducer-1', 'reducer-2']) await startReducer(reducer);
    await settledOn(['reducer-0', 'reducer-1', 'reducer-2'], 'three reducers to share the partitions');
    cluster = startProcess(process.execPath, ['--import', 'tsx', 'deploy/local/start-cluster.ts'], env, output);
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitUntilReady(
      baseUrl,
      120_000,
      watchedChild('the cluster', cluster, () => output.join('')),
    );
    stream = new SteadyStream({ baseUrl, prefix: 'elastic', entities: 100, waitApplied: { partitionCount: PARTITIONS, timeoutMs: 30_000 } });
    stream.start();
    await phase('steady, 3 reducers', () => stream.waitForProgress(100, 'the stream to start'));
  }, 240_000);

  afterAll(async () => {
    await stream?.stop().catch(() => undefined);
    for (const { child } of reducers.values()) child.kill('SIGCONT');
    await Promise.all([...reducers.values()].map(({ child }) => stopGroup(child)));
    await stopGroup(cluster);
    if (redis !== undefined) {
      await deleteKeysWithPrefix(redis, prefix);
      await redis.quit();
    }
    const topic = env?.FLUX_KAFKA_TOPIC;
    if (topic !== undefined) await deleteKafkaTopics({ brokers, logLevel: 'nothing', topics: [topic] });
  }, 60_000);

  it('scaling out to 5 reducers under load hands partitions over to the new ones', async () => {
    await phase('scale 3 → 5', async () => {
      await startReducer('reducer-3');
      await startReducer('reducer-4');
      await settledOn(['reducer-0', 'reducer-1', 'reducer-2', 'reducer-3', 'reducer-4'], 'five reducers to share the partitions');
    });
  }, 120_000);

  it('scaling in to 2 (three reducers stopped at once) hands their partitions to the two left', async () => {
    await phase('scale 5 → 2', async () => {
      await Promise.all(['reducer-2', 'reducer-3', 'reducer-4'].map((id) => stopGroup(reducers.get(id)!.child)));
      await settledOn(['reducer-0', 'reducer-1'], 'two reducers to share the partitions');
    });
  }, 120_000);

  it('a reducer paused with SIGSTOP loses its partitions; woken, it is fenced and rejoins', async () => {
    const paused = reducers.get('reducer-1')!;
    await phase('reducer-1 paused', async () => {
      paused.child.kill('SIGSTOP');
      await settledOn(['reducer-0'], 'reducer-0 to take over every partition after reducer-1’s lease ran out');
    });
    await phase('reducer-1 woken', async () => {
      paused.child.kill('SIGCONT');
      await waitFor(() => paused.lines.length > 0, { timeoutMs: 30_000, what: 'reducer-1 to find it was replaced' });
      await settledOn(['reducer-0', 'reducer-1'], 'reducer-1 to get its share back');
    });
    expect(isAlive(paused.child.pid!)).toBe(true);
  }, 180_000);

  it('afterwards every acknowledged event is applied exactly once', async () => {
    await stream.stop();
    await stream.expectExactlyOnce();
    expect(stream.ackedTotal).toBeGreaterThan(500);
    const longest = Object.fromEntries(Object.entries(stalls).map(([name, list]) => [name, Math.max(...list.map((s) => s.ms))]));
    console.log(JSON.stringify({ acked: stream.ackedTotal, unknown: stream.unknownTotal, longestStallMs: longest, stallsByPartition: stalls }));
  }, 180_000);
});
