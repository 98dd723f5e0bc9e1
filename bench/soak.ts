/**
 * `npm run soak`: a long steady mixed load (single events, batches, deletes, WebSocket
 * subscribers) on the distributed topology, with the resident memory and event-loop delay of
 * every process sampled every few seconds: reducers and gateways through a probe preloaded into
 * each (src/soak/loop-probe.mjs), Redis and Kafka from /proc. Reports each process's memory
 * growth after the warm-up and its worst event-loop delay, and writes
 * bench/results/soak-<date>.json.
 *
 *   npm run soak -- [--duration <minutes, 30>] [--warmup <minutes, 5>] [--rate <requests/s, 200>] [--sample <seconds, 5>]
 *
 * Kafka and Redis are the run's own (deploy/local/services.sh in a private directory).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ChaosLoad, createEntities } from './src/chaos/chaos-load.js';
import { ChaosSubscriber } from './src/chaos/chaos-subscriber.js';
import { PrivateServices } from './src/chaos/private-services.js';
import { SeededRandom } from './src/chaos/random.js';
import { readClusterState } from '../deploy/local/deployment-process.js';
import { startDeployment, type Deployment } from './src/deployment.js';
import { megabytes } from './src/format.js';
import { machineInfo } from './src/machine.js';
import { processMemory } from './src/proc-stats.js';
import { delay, onInterrupt } from './src/process-group.js';
import { summarise, type ProcessSummary, type SoakSample } from './src/soak/soak-stats.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    duration: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    rate: { type: 'string', default: '200' },
    sample: { type: 'string', default: '5' },
  },
  strict: true,
});
const durationMs = Number(values.duration) * 60_000;
const warmupMs = Number(values.warmup) * 60_000;
const rate = Number(values.rate);
const sampleMs = Number(values.sample) * 1000;
if (![durationMs, warmupMs, rate, sampleMs].every((value) => Number.isFinite(value) && value > 0) || warmupMs >= durationMs) {
  process.stderr.write(
    'usage: npm run soak -- [--duration <minutes>] [--warmup <minutes, below the duration>] [--rate <requests/s>] [--sample <seconds>]\n',
  );
  process.exit(2);
}
const ENTITIES = 2000;
const WORKERS = 8;
const SUBSCRIBERS = 3;

const started = performance.now();
const log = (message: string): void => {
  process.stderr.write(`[soak ${((performance.now() - started) / 1000).toFixed(0).padStart(5)} s] ${message}\n`);
};
const runId = `soak${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const dir = await mkdtemp(join(tmpdir(), 'flux-soak-'));
const probeDir = join(dir, 'probes');
const stateFile = join(dir, 'cluster.json');
mkdirSync(probeDir);

let services: PrivateServices | undefined;
let deployment: Deployment | undefined;
const subscribers: ChaosSubscriber[] = [];
const cleanUp = async (): Promise<void> => {
  for (const subscriber of subscribers) subscriber.stop();
  await deployment?.stop();
  await services?.stop();
  await rm(dir, { recursive: true, force: true });
};
onInterrupt(cleanUp);

const series = new Map<string, SoakSample[]>();
/** Processes seen under more than one pid: restarted during the run. */
const pidsByName = new Map<string, Set<number>>();

function record(name: string, pid: number, sample: SoakSample): void {
  series.set(name, [...(series.get(name) ?? []), sample]);
  pidsByName.set(name, (pidsByName.get(name) ?? new Set()).add(pid));
}

function takeSamples(loadStarted: number): void {
  const atMs = Date.now() - loadStarted;
  const cluster = readClusterState(stateFile);
  for (const [name, pid] of Object.entries(cluster.processes)) {
    try {
      const probe = JSON.parse(readFileSync(join(probeDir, `${pid}.json`), 'utf8')) as {
        rssBytes: number;
        loopDelayMaxMs: number;
        loopDelayP99Ms: number;
      };
      record(name, pid, { atMs, rssBytes: probe.rssBytes, loopDelayMaxMs: probe.loopDelayMaxMs, loopDelayP99Ms: probe.loopDelayP99Ms });
    } catch {
      // no sample from this process yet
    }
  }
  const launcher = processMemory(cluster.supervisor);
  if (launcher !== undefined) record('launcher (TCP balancer)', cluster.supervisor, { atMs, rssBytes: launcher.rssBytes });
  for (const [name, pidFile] of [
    ['redis', 'services/redis/redis.pid'],
    ['kafka', 'services/kafka/kafka.pid'],
  ] as const) {
    const pid = Number(readFileSync(join(dir, pidFile), 'utf8').trim());
    const memory = processMemory(pid);
    if (memory !== undefined) record(name, pid, { atMs, rssBytes: memory.rssBytes });
  }
}

const mib = (bytes: number): string => megabytes(bytes);
let exitCode = 1;
try {
  log(`starting private Kafka and Redis in ${dir}/services`);
  services = await PrivateServices.start(join(dir, 'services'));
  deployment = await startDeployment({
    kind: 'cluster',
    fluxRoot: repoRoot,
    runId,
    services: services.services,
    nodeArgs: ['--import', join(repoRoot, 'bench/src/soak/loop-probe.mjs')],
    env: { FLUX_CLUSTER_STATE_FILE: stateFile, FLUX_SOAK_PROBE_DIR: probeDir, FLUX_SOAK_SAMPLE_MS: String(sampleMs) },
  });
  log(
    `cluster ready on ${deployment.baseUrl} after ${deployment.startupSeconds.toFixed(1)} s; ${values.duration} min at ${rate} requests/s, warm-up ${values.warmup} min`,
  );
  const entities = createEntities(runId, ENTITIES);
  const slice = Math.ceil(ENTITIES / SUBSCRIBERS);
  for (let index = 0; index < SUBSCRIBERS; index++) {
    subscribers.push(
      new ChaosSubscriber(
        `subscriber-${index}`,
        deployment.baseUrl,
        entities.slice(index * slice, (index + 1) * slice).map((entity) => entity.id),
      ),
    );
  }
  await Promise.all(subscribers.map((subscriber) => subscriber.start()));
  const load = new ChaosLoad(deployment.baseUrl, runId, entities, new SeededRandom(1));
  const loadStarted = Date.now();
  const loadDone = load.run(WORKERS, rate, delay(durationMs));
  let lastReport = 0;
  while (Date.now() - loadStarted < durationMs) {
    await delay(sampleMs);
    takeSamples(loadStarted);
    if (Date.now() - lastReport >= 60_000) {
      lastReport = Date.now();
      const rss = [...series].map(([name, samples]) => `${name} ${mib(samples[samples.length - 1]!.rssBytes)}`).join(', ');
      log(`${load.counters.singles} singles, ${load.counters.batches} batches, ${load.counters.deletes} deletes; RSS ${rss}`);
    }
  }
  await loadDone;
  const failures = [...load.counters.failures.values()].reduce((sum, n) => sum + n, 0);
  const summaries = [...series]
    .map(([name, samples]) => summarise(name, samples, warmupMs))
    .filter((summary): summary is ProcessSummary => summary !== undefined);
  const restarted = [...pidsByName].filter(([, pids]) => pids.size > 1).map(([name]) => name);
  process.stdout.write(
    `\nsoak: ${values.duration} min, ${load.counters.singles} single events, ${load.counters.batches} batches, ${load.counters.deletes} deletes, ${failures} failed requests\n`,
  );
  process.stdout.write(`process                   RSS after warm-up   RSS at end   growth      per hour    worst loop delay (after warm-up)  p99\n`);
  for (const summary of summaries) {
    const loop =
      summary.worstLoopDelayMs === undefined
        ? '-'
        : `${summary.worstLoopDelayMs.toFixed(1)} ms (${summary.worstLoopDelayAfterWarmupMs?.toFixed(1) ?? '-'} ms)`;
    process.stdout.write(
      `${summary.name.padEnd(26)}${mib(summary.rssAfterWarmupBytes).padStart(17)}${mib(summary.rssEndBytes).padStart(13)}${mib(summary.rssGrowthBytes).padStart(10)}${mib(summary.rssSlopeBytesPerHour).padStart(12)}    ${loop.padEnd(32)}  ${summary.worstLoopDelayP99Ms?.toFixed(1) ?? '-'}\n`,
    );
  }
  if (restarted.length > 0) process.stdout.write(`restarted during the run: ${restarted.join(', ')}\n`);
  const resultsDir = join(repoRoot, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        kind: 'soak',
        startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
        machine: machineInfo(),
        options: {
          durationMinutes: Number(values.duration),
          warmupMinutes: Number(values.warmup),
          requestsPerSecond: rate,
          sampleSeconds: sampleMs / 1000,
          entities: ENTITIES,
          workers: WORKERS,
          subscribers: SUBSCRIBERS,
        },
        load: {
          singles: load.counters.singles,
          batches: load.counters.batches,
          deletes: load.counters.deletes,
          failedRequests: failures,
          failures: Object.fromEntries(load.counters.failures),
        },
        restarted,
        summaries,
        samples: Object.fromEntries(series),
      },
      null,
      2,
    )}\n`,
  );
  log(`wrote ${relative(repoRoot, file)}`);
  exitCode = restarted.length === 0 ? 0 : 1;
} catch (error) {
  log(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await cleanUp();
}
process.exit(exitCode);
