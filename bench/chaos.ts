/**
 * `npm run chaos`: a steady mixed load (single events, batches, deletes, WebSocket subscribers)
 * from this process while the deployment's processes are killed -9 and restarted at random
 * moments; then every acknowledged write is reconciled against the final state, the history
 * and each subscriber's last view. Exits non-zero on any loss, double application, wrong value
 * or divergent subscriber.
 *
 *   npm run chaos -- [--quick] [--cluster] [--seed <n>] [--duration <seconds>] [--server-log <file>]
 *
 * Embedded: the server is killed and restarted on its data directory. Cluster (--cluster):
 * reducers, query gateways and the ingest gateway are killed (the launcher restarts them), and
 * the run's own Kafka and Redis are each killed and restarted once.
 */
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pMap from 'p-map';
import { ChaosLoad, createEntities, type ChaosEntity } from './src/chaos/chaos-load.js';
import type { EntityEvidence } from './src/chaos/chaos-model.js';
import { ChaosSubscriber } from './src/chaos/chaos-subscriber.js';
import { startClusterTarget, startEmbeddedTarget, type ChaosTarget } from './src/chaos/chaos-target.js';
import { faultTargets, planFaults } from './src/chaos/fault-plan.js';
import { request } from './src/chaos/http-outcome.js';
import { SeededRandom } from './src/chaos/random.js';
import { reconcile } from './src/chaos/reconcile.js';
import { delay, onInterrupt } from './src/process-group.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    quick: { type: 'boolean', default: false },
    cluster: { type: 'boolean', default: false },
    seed: { type: 'string' },
    duration: { type: 'string' },
    /** Appends every server process's output (info level) to this file, to diagnose a failure. */
    'server-log': { type: 'string' },
  },
  strict: true,
});
const quick = values.quick;
const cluster = values.cluster;
const seed = values.seed === undefined ? randomBytes(4).readUInt32LE() : Number(values.seed);
const durationMs = 1000 * (values.duration === undefined ? (quick ? 90 : 300) : Number(values.duration));
const ENTITIES = quick ? 200 : 500;
/** Requests a second (a batch counts once); bounded so each entity's history stays under HISTORY_LIMIT. */
const RATE = 200;
const WORKERS = 12;
const SUBSCRIBERS = 3;
const SETTLE_TIMEOUT_MS = 180_000;
const HISTORY_LIMIT = 500;

const started = performance.now();
const log = (message: string): void => {
  process.stderr.write(`[chaos ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
};
const random = new SeededRandom(seed);
const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
log(`${cluster ? 'cluster' : 'embedded'} run ${runId}, seed ${seed}, ${durationMs / 1000} s of load on ${ENTITIES} entities`);

let target: ChaosTarget | undefined;
const subscribers: ChaosSubscriber[] = [];
const cleanUp = async (): Promise<void> => {
  for (const subscriber of subscribers) subscriber.stop();
  await target?.stop();
};
onInterrupt(cleanUp);

async function waitFor(what: string, timeoutMs: number, condition: () => Promise<boolean> | boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await delay(250);
  }
  log(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
  return false;
}

async function readEntity(entity: ChaosEntity): Promise<EntityEvidence> {
  const state = await request(`${target!.baseUrl}/api/state/entities/${encodeURIComponent(entity.id)}`, {});
  const history = await request(`${target!.baseUrl}/api/events?entity=${encodeURIComponent(entity.id)}&limit=${HISTORY_LIMIT}`, {});
  if ('failed' in state || (state.status !== 200 && state.status !== 404)) throw new Error(`GET ${entity.id} failed: ${JSON.stringify(state)}`);
  if ('failed' in history || history.status !== 200 || !Array.isArray(history.body))
    throw new Error(`history of ${entity.id} failed: ${JSON.stringify(history)}`);
  if (history.body.length >= HISTORY_LIMIT) log(`warning: ${entity.id} has ${HISTORY_LIMIT}+ stored events; its oldest are not checked`);
  const body = state.body as { properties: Record<string, unknown>; version: number };
  return {
    entityId: entity.id,
    ops: entity.ops,
    final: state.status === 200 ? { properties: body.properties, version: body.version } : undefined,
    history: (history.body as { eventId: string }[]).map((event) => event.eventId),
  };
}

let exitCode = 1;
try {
  const targetOptions = values['server-log'] === undefined ? {} : { serverLog: resolve(values['server-log']) };
  target = cluster ? await startClusterTarget(repoRoot, runId, targetOptions) : await startEmbeddedTarget(repoRoot, targetOptions);
  log(`deployment ready on ${target.baseUrl}`);
  const entities = createEntities(runId, ENTITIES);
  for (let index = 0; index < SUBSCRIBERS; index++)
    subscribers.push(
      new ChaosSubscriber(
        `subscriber-${index}`,
        target.baseUrl,
        entities.map((entity) => entity.id),
      ),
    );
  await Promise.all(subscribers.map((subscriber) => subscriber.start()));
  log(`${SUBSCRIBERS} subscribers following every entity`);

  const load = new ChaosLoad(target.baseUrl, runId, entities, random);
  const faults = planFaults(faultTargets(cluster, quick), durationMs, random);
  const loadStarted = Date.now();
  const faultsDone = (async () => {
    for (const fault of faults) {
      await delay(Math.max(0, loadStarted + fault.atMs - Date.now()));
      try {
        log(await target!.inject(fault.target, random));
        await target!.ready(120_000);
      } catch (error) {
        log(`fault ${fault.target} failed: ${error instanceof Error ? error.message : String(error)}`);
        throw error;
      }
    }
  })();
  const loadDone = load.run(
    WORKERS,
    RATE,
    Promise.race([delay(durationMs), faultsDone.then(() => delay(Math.max(0, loadStarted + durationMs - Date.now())))]),
  );
  await faultsDone;
  await loadDone;
  const { singles, batches, deletes, failures } = load.counters;
  log(
    `load stopped: ${singles} single events, ${batches} batches, ${deletes} deletes; failed requests: ${[...failures.values()].reduce((sum, n) => sum + n, 0)}`,
  );
  for (const [reason, count] of [...failures].sort((a, b) => b[1] - a[1]).slice(0, 8)) log(`  ${count} × ${reason}`);

  await target.ready(120_000);
  // A last acknowledged event per entity is a barrier: once it is visible, everything acknowledged
  // before it is applied too (one entity's events apply in order).
  const settleDeadline = Date.now() + SETTLE_TIMEOUT_MS;
  const fences = await pMap(entities, (entity) => load.settle(entity, settleDeadline), { concurrency: 8 });
  const fenced = entities.map((entity, index) => ({ entity, property: fences[index] === undefined ? undefined : `s${fences[index]!.seq}` }));
  const unfenced = fenced.filter(({ property }) => property === undefined).length;
  if (unfenced > 0) log(`${unfenced} entities never acknowledged a closing event`);
  const applied = async (): Promise<boolean> => {
    const checks = await pMap(
      fenced.filter(({ property }) => property !== undefined),
      async ({ entity, property }) => {
        const answer = await request(`${target!.baseUrl}/api/state/entities/${encodeURIComponent(entity.id)}`, {});
        return (
          !('failed' in answer) &&
          answer.status === 200 &&
          (answer.body as { properties: Record<string, unknown> }).properties[property!] !== undefined
        );
      },
      { concurrency: 8 },
    );
    return checks.every(Boolean);
  };
  await waitFor('every closing event to be applied', SETTLE_TIMEOUT_MS, applied);
  await waitFor('every subscriber to see every closing event', 60_000, () =>
    subscribers.every(
      (subscriber) =>
        subscriber.connected && fenced.every(({ entity, property }) => property === undefined || subscriber.view.has(entity.id, property)),
    ),
  );

  const evidence = await pMap(entities, readEntity, { concurrency: 8 });
  const verdict = reconcile(evidence);
  const finals = new Map(evidence.map((entity) => [entity.entityId, entity.final?.properties]));
  let divergent = 0;
  for (const subscriber of subscribers) {
    const lines = subscriber.view.divergences(finals);
    if (lines.length > 0) divergent += 1;
    log(`${subscriber.name}: ${subscriber.reconnects} reconnects, ${lines.length} entities differ from the final state`);
    for (const line of lines.slice(0, 5)) log(`  ${line}`);
  }
  for (const finding of verdict.findings.slice(0, 20)) log(`${finding.kind}: ${finding.entityId}: ${finding.detail}`);
  if (verdict.findings.length > 20) log(`… and ${verdict.findings.length - 20} more findings`);
  const ok = verdict.lost === 0 && verdict.duplicated === 0 && verdict.wrong === 0 && divergent === 0 && unfenced === 0;
  process.stdout.write(
    `chaos ${cluster ? 'cluster' : 'embedded'} seed=${seed}: acknowledged=${verdict.acknowledged} lost=${verdict.lost} duplicated=${verdict.duplicated} wrong=${verdict.wrong} ` +
      `unknown=${verdict.unknown} (applied ${verdict.unknownApplied}) rejected=${verdict.rejected} divergent_subscribers=${divergent} faults=${faults.length} ${ok ? 'PASS' : 'FAIL'}\n`,
  );
  exitCode = ok ? 0 : 1;
} catch (error) {
  log(`chaos run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.stdout.write(`chaos ${cluster ? 'cluster' : 'embedded'} seed=${seed}: FAIL (the run did not complete)\n`);
} finally {
  await cleanUp();
}
process.exit(exitCode);
