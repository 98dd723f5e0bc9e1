/** Small, hand-made results for the tests of the pure parts of the harness. */
import type { BatchLoadResult } from '../src/batch-load.js';
import type { DataDisk } from '../src/data-disk.js';
import type { DeploymentKind } from '../src/deployment.js';
import type { LatencySummary } from '../src/latency-recorder.js';
import type { LoadProbeSummary } from '../src/load-probe.js';
import type { OpenLoopResult } from '../src/open-loop.js';
import { profileFor } from '../src/profile.js';
import { RESULTS_FORMAT, SCENARIOS, type BenchResults, type ScenarioName, type ScenarioResults } from '../src/results.js';
import type { AlternatingSaturation, SaturationResult } from '../src/saturation.js';
import type { WebSocketRateResult, WebSocketResult } from '../src/scenarios/websocket-delivery.js';
import { evaluateTargets } from '../src/targets.js';

export const probe: LoadProbeSummary = {
  wallSeconds: 1,
  loadCpuCores: 0.3,
  serverCpuCores: 1,
  serverCpuSeconds: 1,
  eventLoopDelayMs: { p50: 0, p99: 1, max: 2 },
  warnings: [],
};

export function latency(p50: number, p99: number): LatencySummary {
  return { count: 100, min: p50 / 2, mean: p50, p50, p90: (p50 + p99) / 2, p99, p999: p99 * 1.5, max: p99 * 2 };
}

export function openLoop(rate: number, p50: number, p99: number, serverCpuCores = 0.25): OpenLoopResult {
  return {
    offeredRate: rate,
    durationSeconds: 1,
    scheduled: rate,
    ok: rate,
    non2xx: {},
    errors: {},
    unfinished: 0,
    achievedRate: rate,
    latencyMs: latency(p50, p99),
    sendLagMs: latency(0.1, 0.5),
    probe: { ...probe, serverCpuCores, serverCpuSeconds: serverCpuCores },
  };
}

/** A batch run; `cpuSeconds`: the deployment's CPU over it, `servicesCpuSeconds` Kafka's and Redis's (null: not visible). */
export function batch(batchSize: number, eventsPerSecond: number, cpuSeconds = 0.4, servicesCpuSeconds: number | null = null): BatchLoadResult {
  return {
    batchSize,
    events: 20_000,
    entities: 10_000,
    concurrency: 8,
    requests: 20_000 / batchSize,
    failedEvents: 0,
    non200Requests: 0,
    ackSeconds: 0.5,
    materialisedSeconds: 20_000 / eventsPerSecond,
    eventsPerSecond,
    ackedEventsPerSecond: eventsPerSecond * 2,
    listRequests: 100,
    servicesCpuSeconds,
    probe: { ...probe, serverCpuSeconds: cpuSeconds },
  };
}

export function websocketRate(rate: number, p50: number, p99: number, lost = 0): WebSocketRateResult {
  return {
    rate,
    durationSeconds: 1,
    publish: openLoop(rate, 1, 2),
    expected: rate,
    delivered: rate - lost,
    deliveredUnacknowledged: 0,
    duplicates: 0,
    lost,
    latencyMs: latency(p50, p99),
    probe,
  };
}

export const disk = (fsType: 'ext4' | 'tmpfs'): DataDisk =>
  fsType === 'tmpfs'
    ? { path: '/dev/shm/flux-bench-1', fsType, source: 'tmpfs', mountPoint: '/dev/shm' }
    : { path: '/tmp/flux-bench-1', fsType, source: '/dev/vda', mountPoint: '/' };

export const websocket = (rates: readonly WebSocketRateResult[], on: DataDisk | null = disk('ext4')): WebSocketResult => ({
  dataDisk: on,
  subscribers: 100,
  entitiesPerSubscriber: 10,
  rates,
});

const saturation = (requestsPerSecond: number): SaturationResult => ({
  connections: 50,
  durationSeconds: 3,
  requestsPerSecond,
  ok: requestsPerSecond * 3,
  non2xx: 0,
  errors: 0,
  timeouts: 0,
  statusCodes: { '200': requestsPerSecond * 3 },
  latencyMs: { mean: 2, p50: 2, p99: 9, max: 20 },
  probe,
});

/** Baseline and Flux saturation, one round each. */
export function alternating(baselineRequestsPerSecond: number, fluxRequestsPerSecond: number): AlternatingSaturation {
  return {
    connections: 50,
    rounds: 1,
    baseline: [saturation(baselineRequestsPerSecond)],
    flux: [saturation(fluxRequestsPerSecond)],
    baselineRequestsPerSecond,
    fluxRequestsPerSecond,
    ratio: Math.round((fluxRequestsPerSecond / baselineRequestsPerSecond) * 1000) / 1000,
  };
}

/** The server's worst event-loop delay under every scenario, `ms` each. */
export const loopDelays = (ms: number): Partial<Record<ScenarioName, number>> => Object.fromEntries(SCENARIOS.map((name) => [name, ms]));

/** Figures of a healthy embedded run (data on disk), every target it can judge met, unless overridden. */
export function embeddedScenarios(overrides: Partial<ScenarioResults> = {}): ScenarioResults {
  return {
    ingest: { ...alternating(20_000, 13_000), fixedRate: [openLoop(1000, 1, 3), openLoop(5000, 2, 8)] },
    batch: [batch(100, 200_000), batch(1000, 350_000)],
    reads: {
      entities: 100_000,
      subPrefixes: 100,
      load: batch(1000, 300_000),
      get: alternating(30_000, 27_000),
      listPrefix: { matches: 1000, requests: 10, errors: 0, latencyMs: latency(5, 9) },
      listPage: { matches: 100, requests: 10, errors: 0, latencyMs: latency(1, 2), limit: 100 },
      listAll: { matches: 100_000, requests: 2, errors: 0, latencyMs: latency(400, 450) },
    },
    websocket: websocket([websocketRate(1000, 1, 4), websocketRate(5000, 2, 20)]),
    memory: {
      entities: 1_000_000,
      idleRssBytes: 70e6,
      rssBytes: 0.9e9,
      peakRssBytes: 1.1e9,
      anonRssBytes: 0.5e9,
      fileRssBytes: 0.4e9,
      settleMs: 5000,
      load: batch(1000, 300_000),
    },
    ...overrides,
  };
}

export function benchResults(
  options: {
    deployment?: DeploymentKind;
    quick?: boolean;
    complete?: boolean;
    external?: boolean;
    startedAt?: string;
    scenarios?: ScenarioResults;
    serverEventLoopDelayMaxMs?: Partial<Record<ScenarioName, number | null>>;
  } = {},
): BenchResults {
  const deployment = options.deployment ?? 'embedded';
  const quick = options.quick ?? false;
  const scenarios = options.scenarios ?? embeddedScenarios();
  const startedAt = options.startedAt ?? '2026-01-02T03:04:05.000Z';
  const serverEventLoopDelayMaxMs = options.serverEventLoopDelayMaxMs ?? (deployment === 'embedded' ? loopDelays(5) : {});
  return {
    format: RESULTS_FORMAT,
    startedAt,
    finishedAt: startedAt,
    wallSeconds: 60,
    run: {
      deployment,
      quick,
      scenarios: ['ingest', 'batch', 'reads', 'websocket', 'memory'],
      complete: options.complete ?? true,
      external: options.external ?? false,
      command: 'npm run bench --',
    },
    machine: { cpuModel: 'Test CPU', cores: 2, memoryBytes: 2 ** 34, os: 'Test OS', kernel: 'Linux 6', loadAverageAtStart: 1, loadAverageAtEnd: 1.5 },
    versions: {
      node: 'v20.20.0',
      flux: { root: '/flux', version: '0.1.0', commit: '0123456789abcdef', uncommittedChanges: false },
      harness: { fastify: '5.0.0' },
      fluxFastify: '5.0.0',
    },
    parameters: profileFor(quick, deployment),
    deployment: { startupSeconds: 1, processes: [] },
    scenarios,
    serverEventLoopDelayMaxMs,
    failures: {},
    targets: evaluateTargets(deployment, { scenarios, serverEventLoopDelayMaxMs }),
  };
}
