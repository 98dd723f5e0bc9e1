/**
 * Failure behaviour of the distributed topology on real Kafka and Redis, under a steady
 * stream of events: a reducer killed with SIGKILL, a query gateway killed, Redis restarted
 * (AOF on), and a stale reducer that wakes up after its partitions were claimed. Afterwards
 * every acknowledged event must be applied exactly once: each entity's history holds every
 * acknowledged sequence number exactly once, and its version equals its events.
 *
 * The test owns its Redis (a private redis-server) so restarting it disturbs no other suite;
 * Kafka is the shared local broker, with a topic of its own.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, waitUntilReady, watchedChild } from '@flux/core/tooling';
import { describeWithKafka, waitFor } from '@flux/core/testing';
import { shardForEntity } from '@flux/domain';
import { deleteKafkaTopics } from '@flux/kafka';
import { isAlive, startProcess as start, stopGroup } from './support/processes.js';
import { SteadyStream } from './support/steady-stream.js';

const ENTITIES = 100;
/** A reducer's commit refused by the fence logs this (see RedisStateStore.commit). */
const FENCED_MESSAGE = 'owned by a newer claim';
/**
 * A commit in flight when its reducer was stopped ends with this as the reducer wakes: timers
 * run before sockets are read, so the command's timeout fires first.
 */
const TIMED_OUT_MESSAGE = 'Redis unavailable during commit: Command timed out';

interface ClusterState {
  readonly processes: Record<string, number>;
}

/** Lines seen by any process of the test, kept apart from the bounded output buffer. */
const fencedLines: string[] = [];
const timedOutLines: string[] = [];

const startProcess = (command: string, args: string[], env: NodeJS.ProcessEnv, output: string[]): ChildProcess =>
  start(command, args, env, output, (line) => {
    if (line.includes(FENCED_MESSAGE)) fencedLines.push(line);
    if (line.includes(TIMED_OUT_MESSAGE)) timedOutLines.push(line);
  });

describeWithKafka('cluster failures (kill -9 reducer, kill gateway, Redis restart, stale reducer)', (brokers) => {
  const output: string[] = [];
  let dir: string;
  let redisPort: number;
  let redis: ChildProcess | undefined;
  let cluster: ChildProcess | undefined;
  let stale: ChildProcess | undefined;
  let baseUrl: string;
  let clusterEnv: NodeJS.ProcessEnv;
  let stream: SteadyStream | undefined;

  const state = async (): Promise<ClusterState> => JSON.parse(await readFile(join(dir, 'cluster-state.json'), 'utf8')) as ClusterState;

  const startRedis = (): void => {
    redis = startProcess(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''],
      process.env,
      output,
    );
  };
  const redisAnswers = async (): Promise<boolean> =>
    new Promise((resolveAnswer) => {
      const socket = createConnection({ host: '127.0.0.1', port: redisPort });
      socket.once('connect', () => {
        socket.end('PING\r\n');
        resolveAnswer(true);
      });
      socket.once('error', () => resolveAnswer(false));
    });

  const waitForProgress = (events: number, what: string): Promise<void> => stream!.waitForProgress(events, what);
  const waitForNewPid = async (name: string, old: number): Promise<void> => {
    await waitFor(
      async () => {
        const pid = (await state()).processes[name];
        return pid !== undefined && pid !== old;
      },
      { timeoutMs: 30_000, what: `${name} to be restarted` },
    );
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flux-failures-'));
    redisPort = await freePort();
    startRedis();
    await waitFor(redisAnswers, { timeoutMs: 20_000, what: 'the private redis-server' });
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    clusterEnv = {
      ...process.env,
      KAFKA_BROKERS: brokers.join(','),
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      FLUX_KAFKA_TOPIC: `flux-failures-${id}`,
      FLUX_REDIS_KEY_PREFIX: `flux-failures-${id}:`,
      FLUX_PARTITIONS: '12',
      FLUX_LOG_LEVEL: 'warn',
      PORT: String(port),
      FLUX_CLUSTER_HOST: '127.0.0.1',
      FLUX_CLUSTER_STATE_FILE: join(dir, 'cluster-state.json'),
      FLUX_CLUSTER_RESTART_DELAY_MS: '300',
    };
    const launcher = startProcess(process.execPath, ['--import', 'tsx', 'deploy/local/start-cluster.ts'], clusterEnv, output);
    cluster = launcher;
    await waitUntilReady(
      baseUrl,
      120_000,
      watchedChild('the cluster', launcher, () => output.join('')),
    );
    stream = new SteadyStream({ baseUrl, prefix: 'failures', entities: ENTITIES });
    stream.start();
    await waitForProgress(100, 'the stream to start');
  }, 180_000);

  afterAll(async () => {
    await stream?.stop().catch(() => undefined);
    await stopGroup(stale, 'SIGKILL');
    await stopGroup(cluster);
    await stopGroup(redis);
    await rm(dir, { recursive: true, force: true });
    // The private Redis goes with its directory; the topic lives on the shared Kafka.
    const topic = clusterEnv?.FLUX_KAFKA_TOPIC;
    if (topic !== undefined) await deleteKafkaTopics({ brokers, logLevel: 'nothing', topics: [topic] });
  }, 60_000);

  it('a reducer killed with SIGKILL is restarted and resumes from its committed offset', async () => {
    const before = (await state()).processes['reducer-0']!;
    process.kill(before, 'SIGKILL');
    await waitForNewPid('reducer-0', before);
    await waitForProgress(100, 'events acknowledged after the reducer restart');
  }, 90_000);

  it('while a reducer is killed and restarted, reads of its entities keep answering 200 with their state', async () => {
    // Entities of shard 0 (the one killed), written once and then only read.
    const ids = Array.from({ length: 60 }, (_, k) => `failures/read-${k}`)
      .filter((id) => shardForEntity(id, 12, 3) === 0)
      .slice(0, 8);
    for (const id of ids) {
      const response = await fetch(`${baseUrl}/api/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ stream: 'failures', source: 'failure-test', timestamp: Date.now(), payload: { entity_id: id, properties: { id } } }),
      });
      expect(response.status).toBe(200);
    }
    const read = async (path: string): Promise<{ status: number; body: unknown; stale: boolean }> => {
      try {
        const response = await fetch(`${baseUrl}${path}`, { signal: AbortSignal.timeout(10_000) });
        const text = await response.text();
        return {
          status: response.status,
          body: response.status === 200 ? JSON.parse(text) : text,
          stale: response.headers.get('flux-stale') === 'true',
        };
      } catch (error) {
        return { status: 0, body: String(error), stale: false };
      }
    };
    await waitFor(
      async () => (await Promise.all(ids.map((id) => read(`/api/state/entities/${encodeURIComponent(id)}`)))).every((r) => r.status === 200),
      {
        timeoutMs: 30_000,
        what: 'the read entities to be applied',
      },
    );

    const failures: { at: number; path: string; status: number; body: unknown }[] = [];
    let reads = 0;
    let staleReads = 0;
    let reading = true;
    const reader = async (): Promise<void> => {
      for (let n = 0; reading; n++) {
        const id = ids[n % ids.length]!;
        const point = n % 3 !== 2;
        const path = point ? `/api/state/entities/${encodeURIComponent(id)}` : `/api/state/entities?prefix=${encodeURIComponent('failures/read-')}`;
        const result = await read(path);
        reads += 1;
        if (result.stale) staleReads += 1;
        const right = point
          ? result.status === 200 && (result.body as { properties: { id: string } }).properties.id === id
          : result.status === 200 && ids.every((want) => (result.body as { id: string }[]).some((entity) => entity.id === want));
        if (!right) failures.push({ at: Date.now(), path, status: result.status, body: result.body });
        await new Promise((resolveTick) => setTimeout(resolveTick, 10));
      }
    };
    const readers = [reader(), reader()];
    const killedAt = Date.now();
    const pid = (await state()).processes['reducer-0']!;
    process.kill(pid, 'SIGKILL');
    await waitForNewPid('reducer-0', pid);
    // Back to normal: the restarted shard answers again (no fallback, so no stale marker).
    await waitFor(
      async () => {
        const result = await read(`/api/state/entities/${encodeURIComponent(ids[0]!)}`);
        return result.status === 200 && !result.stale;
      },
      { timeoutMs: 60_000, what: 'reducer-0 to serve reads again' },
    );
    reading = false;
    await Promise.all(readers);
    const gapMs = failures.length === 0 ? 0 : failures[failures.length - 1]!.at - failures[0]!.at;
    console.log(JSON.stringify({ readAvailability: { reads, failed: failures.length, stale: staleReads, gapMs, windowMs: Date.now() - killedAt } }));
    expect(failures.slice(0, 5)).toEqual([]);
  }, 120_000);

  it('a killed query gateway costs only its connections; the other keeps serving', async () => {
    const before = (await state()).processes['query-gateway-0']!;
    process.kill(before, 'SIGKILL');
    await waitForProgress(50, 'events acknowledged while a gateway is down');
    await waitForNewPid('query-gateway-0', before);
  }, 90_000);

  it('Redis restarted (AOF on): reducers and gateways reconnect and nothing is lost', async () => {
    await stopGroup(redis, 'SIGTERM'); // a graceful SHUTDOWN fsyncs the AOF
    await waitFor(async () => !(await redisAnswers()), { timeoutMs: 10_000, what: 'Redis to stop' });
    startRedis();
    await waitFor(redisAnswers, { timeoutMs: 20_000, what: 'Redis to come back' });
    await waitForProgress(100, 'events acknowledged after the Redis restart');
  }, 120_000);

  it('a stale reducer that wakes up after its partitions were claimed cannot write', async () => {
    const stalePid = (await state()).processes['reducer-1']!;
    process.kill(stalePid, 'SIGSTOP');
    const usurperOutput: string[] = [];
    stale = startProcess(
      process.execPath,
      ['--import', 'tsx', 'apps/reducer/src/main.ts'],
      {
        ...clusterEnv,
        SHARD_INDEX: '1',
        SHARD_COUNT: '3',
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: String(await freePort()),
        // Any free port: the default one may be another reducer's on this machine.
        FLUX_METRICS_PORT: '0',
        FLUX_LOG_LEVEL: 'info',
      },
      usurperOutput,
    );
    await waitFor(() => usurperOutput.join('').includes('reducer shard ready'), { timeoutMs: 60_000, what: 'the second owner of shard 1' });
    await waitForProgress(100, 'events applied by the new owner');
    // The old owner wakes up, maybe with batches in hand: its claim check or the fence in its
    // next commit (whichever comes first) finds the newer claim, and it exits (crash-only)
    // instead of writing.
    const fencedBefore = fencedLines.length;
    const timedOutBefore = timedOutLines.length;
    process.kill(stalePid, 'SIGCONT');
    // On failure, the stale reducer's own last lines say how it ended (the cluster's tail is
    // usually the gateways' reconnect warnings about the stopped shard). The supervisor prefixes
    // them with the process name; the second owner's own lines have no prefix.
    const staleLines = (): string =>
      output
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('[reducer-1] '))
        .slice(-15)
        .map((line) => line.slice(0, 600))
        .join('\n');
    const exited = await waitFor(() => !isAlive(stalePid), { timeoutMs: 60_000, what: 'the stale reducer to exit' }).then(
      () => true,
      () => false,
    );
    expect(exited, `the stale reducer exited within 60 s; its last lines:\n${staleLines()}`).toBe(true);
    // Its last lines travel through the supervisor's pipes and may arrive after it is gone.
    const staleSaid = (lines: string[], from: number): boolean =>
      lines.slice(from).some((line) => line.startsWith('[reducer-1] ') && line.includes('"shard":1'));
    // Fenced, or (when it was stopped with a commit in flight) failed on that commit's timeout
    // before it could try another: either way it exits without writing under the old claim,
    // which the exactly-once check below confirms.
    const ended = (): boolean => staleSaid(fencedLines, fencedBefore) || staleSaid(timedOutLines, timedOutBefore);
    await waitFor(ended, { timeoutMs: 10_000, what: 'the stale reducer to log a refused or timed-out commit' }).catch(() => undefined);
    expect(ended(), `the stale reducer was fenced or timed out; its last lines:\n${staleLines()}`).toBe(true);
    // The supervisor restarts it; its fresh claim fences the second owner in turn, which exits.
    await waitFor(() => stale?.exitCode !== null || stale?.signalCode !== null, { timeoutMs: 60_000, what: 'the second owner to be fenced' });
    await waitForProgress(100, 'events applied after ownership settled');
  }, 180_000);

  it('afterwards every acknowledged event is applied exactly once and reads route correctly', async () => {
    await stream!.stop();
    await stream!.expectExactlyOnce();
    expect(stream!.ackedTotal).toBeGreaterThan(500);
    console.log(JSON.stringify({ acked: stream!.ackedTotal, unknown: stream!.unknownTotal }));
  }, 180_000);
});
