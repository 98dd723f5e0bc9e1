/**
 * `npm run bench`: starts a fresh Flux deployment, loads it from this process over loopback,
 * and writes bench/results/<date>….json, a summary on stdout and docs/benchmarks.md.
 * Flags: see USAGE in src/cli-options.ts and docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBenchmarksDoc } from './src/benchmarks-doc.js';
import { parseBenchArgs, UsageError, type BenchOptions } from './src/cli-options.js';
import { localServices, type LocalServices } from '../deploy/local/local-services.js';
import { kafkaVersion, redisVersion } from './src/cluster-services.js';
import { startDeployment, type Deployment } from './src/deployment.js';
import { loadAverage, machineInfo, versions as collectVersions, type Versions } from './src/machine.js';
import type { ProcessMemory } from './src/proc-stats.js';
import { onInterrupt } from './src/process-group.js';
import { profileFor } from './src/profile.js';
import { machineLine, runFigures, runTitle, targetsTable } from './src/report.js';
import { RESULTS_FORMAT, resultsFileName, scenariosFor, type BenchResults, type ScenarioName, type ScenarioResults } from './src/results.js';
import { batchIngest } from './src/scenarios/batch-ingest.js';
import { filteredList } from './src/scenarios/filtered-list.js';
import { largeEntity } from './src/scenarios/large-entity.js';
import { memory } from './src/scenarios/memory.js';
import { reads } from './src/scenarios/reads.js';
import type { ScenarioContext } from './src/scenarios/scenario-context.js';
import { ServerLoopDelayWindow } from './src/server-metrics.js';
import { singleEventIngest } from './src/scenarios/single-event-ingest.js';
import { waitApplied } from './src/scenarios/wait-applied.js';
import { websocketDelivery } from './src/scenarios/websocket-delivery.js';
import { evaluateTargets } from './src/targets.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = join(repoRoot, 'bench/results');

let options: BenchOptions;
try {
  options = parseBenchArgs(process.argv.slice(2), repoRoot);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError && error.message.startsWith('usage:') ? 0 : 2);
}

const started = performance.now();
const startedAt = new Date();
const log = (message: string): void => {
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);
};
const runId = `${startedAt.getTime().toString(36)}-${randomBytes(3).toString('hex')}`;
const external = options.fluxRoot !== repoRoot;
const machine = machineInfo();
const profile = profileFor(options.quick, options.deployment);
const scenarios = scenariosFor(options.deployment, options.only);

let services: LocalServices | undefined;
let serviceVersions: Pick<Versions, 'kafka' | 'redis'> = {};
if (options.deployment === 'cluster') {
  services = localServices();
  serviceVersions = { kafka: kafkaVersion(), redis: await redisVersion(services.redisUrl) };
}
const versions: Versions = { ...collectVersions(repoRoot, options.fluxRoot), ...serviceVersions };
log(
  `${options.deployment}${options.quick ? ' quick' : ''} run of ${scenarios.join(', ')} against ${options.fluxRoot} (${versions.flux.commit.slice(0, 10)})`,
);

const live = new Set<Deployment>();
onInterrupt(async () => {
  for (const deployment of live) await deployment.stop();
});

const scenarioResults: { -readonly [K in keyof ScenarioResults]: ScenarioResults[K] } = {};
const failures: Partial<Record<ScenarioName, string>> = {};
const loopDelays: Partial<Record<ScenarioName, number | null>> = {};
const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Deployments started so far: each gets its own topic and key prefix. */
let deploymentsStarted = 0;

async function withDeployment(
  label: string,
  run: (deployment: Deployment) => Promise<void>,
  onStartFailure: (message: string) => void,
): Promise<void> {
  log(`starting ${label}`);
  let deployment: Deployment;
  try {
    deployment = await startDeployment({
      kind: options.deployment,
      fluxRoot: options.fluxRoot,
      services,
      runId: `${runId}-${deploymentsStarted++}`,
      nodeArgs: options.nodeArgs,
    });
  } catch (error) {
    log(`could not start ${label}: ${errorText(error)}`);
    onStartFailure(`the deployment did not start: ${errorText(error).split('\n')[0]}`);
    return;
  }
  live.add(deployment);
  log(`${label} ready in ${deployment.startupSeconds.toFixed(1)} s at ${deployment.baseUrl}`);
  try {
    await run(deployment);
  } finally {
    log(`stopping ${label}`);
    await deployment.stop();
    live.delete(deployment);
  }
}

const contextFor = (deployment: Deployment, suffix: string): ScenarioContext => ({
  deployment,
  profile,
  idPrefix: `bench-${runId}${suffix}/`,
  repoRoot,
  log,
  serverLoop: new ServerLoopDelayWindow(() => deployment.metricsUrls()),
});

/** Runs one scenario, with the server's event-loop delay watched over exactly its span. */
async function runScenario<K extends ScenarioName>(
  name: K,
  context: ScenarioContext,
  measure: (context: ScenarioContext) => Promise<NonNullable<ScenarioResults[K]>>,
): Promise<void> {
  if (!scenarios.includes(name)) return;
  try {
    await context.serverLoop?.open();
    scenarioResults[name] = await measure(context);
    if (context.serverLoop !== undefined) loopDelays[name] = (await context.serverLoop.close())?.maxMs ?? null;
  } catch (error) {
    failures[name] = errorText(error);
    log(`${name} failed: ${errorText(error)}`);
  }
}

let deploymentFigures: BenchResults['deployment'] = { startupSeconds: 0, processes: [] };
const mainScenarios = scenarios.filter((name) => name !== 'memory');
if (mainScenarios.length > 0) {
  await withDeployment(
    `the ${options.deployment} deployment`,
    async (deployment) => {
      const context = contextFor(deployment, '');
      await runScenario('ingest', context, singleEventIngest);
      await runScenario('batch', context, batchIngest);
      await runScenario('reads', context, reads);
      await runScenario('websocket', context, websocketDelivery);
      await runScenario('wait-applied', context, waitApplied);
      await runScenario('large-entity', context, largeEntity);
      await runScenario('filtered-list', context, filteredList);
      const processes: ProcessMemory[] = deployment.memory();
      deploymentFigures = { startupSeconds: Math.round(deployment.startupSeconds * 100) / 100, processes };
    },
    (message) => {
      for (const name of mainScenarios) failures[name] = message;
    },
  );
}
if (scenarios.includes('memory')) {
  await withDeployment(
    'a fresh embedded deployment for the memory scenario',
    (deployment) => runScenario('memory', contextFor(deployment, 'm'), memory),
    (message) => {
      failures.memory = message;
    },
  );
}

// A server run with extra flags (a profiler) is not representative, whatever it measured.
const complete =
  Object.keys(failures).length === 0 && scenarios.length === scenariosFor(options.deployment, undefined).length && options.nodeArgs.length === 0;
const finishedAt = new Date();
const results: BenchResults = {
  format: RESULTS_FORMAT,
  startedAt: startedAt.toISOString(),
  finishedAt: finishedAt.toISOString(),
  wallSeconds: Math.round((performance.now() - started) / 100) / 10,
  run: {
    deployment: options.deployment,
    quick: options.quick,
    scenarios,
    complete,
    external,
    command: ['npm run bench --', ...process.argv.slice(2)].join(' '),
  },
  machine: { ...machine, loadAverageAtEnd: loadAverage() },
  versions,
  parameters: profile,
  deployment: deploymentFigures,
  scenarios: scenarioResults,
  serverEventLoopDelayMaxMs: loopDelays,
  failures,
  targets: evaluateTargets(options.deployment, { scenarios: scenarioResults, serverEventLoopDelayMaxMs: loopDelays }),
};

const outFile =
  options.out ??
  join(
    resultsDir,
    resultsFileName({
      startedAt,
      deployment: options.deployment,
      quick: options.quick,
      complete,
      ...(external ? { externalCommit: versions.flux.commit } : {}),
    }),
  );
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);

process.stdout.write(
  [
    `## ${runTitle(results)}`,
    '',
    machineLine(results),
    '',
    targetsTable(results.targets),
    '',
    runFigures(results),
    '',
    `Results: ${relative(process.cwd(), outFile)} (${results.wallSeconds} s)`,
    '',
  ].join('\n'),
);
if (options.writeDocs && !external) {
  const shown = writeBenchmarksDoc(repoRoot, resultsDir);
  log(`docs/benchmarks.md shows ${shown.map((shownResults) => runTitle(shownResults)).join('; ') || 'no results'}`);
}
process.exit(Object.keys(failures).length > 0 ? 1 : 0);
