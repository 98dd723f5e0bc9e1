/** One run's figures as Markdown: what stdout shows at the end of a run, and what the docs embed. */
import { formatValue, integer, markdownTable, megabytes, milliseconds, thresholdText, verdict } from './format.js';
import type { BatchLoadResult } from './batch-load.js';
import type { LatencySummary } from './latency-recorder.js';
import type { LoadProbeSummary } from './load-probe.js';
import type { OpenLoopResult } from './open-loop.js';
import type { BenchResults } from './results.js';
import { diskText } from './data-disk.js';
import type { ScenarioName } from './results.js';
import type { AlternatingSaturation, SaturationResult } from './saturation.js';
import { CPU_PER_EVENTS, serverCoresAtRate, type TargetOutcome } from './targets.js';

/** A `###` section: its title, a blank line, then its body blocks one per line. */
const section = (title: string, ...body: string[]): string => [`### ${title}`, '', ...body].join('\n');

export function targetsTable(targets: readonly TargetOutcome[]): string {
  return markdownTable(
    ['deployment', 'target', 'threshold', 'measured', 'result'],
    targets.map((target) => [
      target.deployment,
      target.description,
      thresholdText(target),
      target.measured === null ? '—' : formatValue(target.unit, target.measured),
      target.note === undefined ? verdict(target) : `${verdict(target)} (${target.note})`,
    ]),
  );
}

const latencyCells = (latency: LatencySummary): string[] => [latency.p50, latency.p90, latency.p99, latency.p999, latency.max].map(milliseconds);

function failures(run: OpenLoopResult): string {
  const count = (counts: Readonly<Record<string, number>>): number => Object.values(counts).reduce((sum, value) => sum + value, 0);
  const total = count(run.non2xx) + count(run.errors) + run.unfinished;
  if (total === 0) return '0';
  const parts = [
    ...Object.entries(run.non2xx).map(([status, value]) => `${integer(value)}× HTTP ${status}`),
    ...Object.entries(run.errors).map(([code, value]) => `${integer(value)}× ${code}`),
    ...(run.unfinished > 0 ? [`${integer(run.unfinished)} unanswered`] : []),
  ];
  return `${integer(total)} (${parts.join(', ')})`;
}

function saturationRow(name: string, meanRequestsPerSecond: number, runs: readonly SaturationResult[]): string[] {
  const bad = runs.reduce((sum, run) => sum + run.non2xx + run.errors + run.timeouts, 0);
  const p99 = Math.max(...runs.map((run) => run.latencyMs.p99));
  return [
    name,
    `${integer(meanRequestsPerSecond)} req/s`,
    runs.map((run) => integer(run.requestsPerSecond)).join(', '),
    milliseconds(p99),
    integer(bad),
  ];
}

/** Baseline and Flux under the same saturation load: a sentence with the ratio, then a table. */
function comparison(run: AlternatingSaturation, seconds: number): string[] {
  return [
    `Saturation: ${run.connections} connections, ${run.rounds === 1 ? 'one round' : `${run.rounds} alternating rounds`} of ${seconds} s per server. **Flux / baseline = ${run.ratio.toFixed(2)}**.`,
    '',
    markdownTable(
      ['server', 'mean', 'per round (req/s)', 'closed-loop p99 (worst round)', 'non-2xx + errors'],
      [
        saturationRow('bare Fastify baseline', run.baselineRequestsPerSecond, run.baseline),
        saturationRow('Flux', run.fluxRequestsPerSecond, run.flux),
      ],
    ),
  ];
}

const cores = (value: number | null): string => (value === null ? '—' : value.toFixed(2));

function ingestSection(results: BenchResults): string | undefined {
  const ingest = results.scenarios.ingest;
  if (ingest === undefined) return undefined;
  return section(
    'Single-event ingest (`POST /api/events`)',
    ...comparison(ingest, results.parameters.ingest.saturationSeconds),
    '',
    'Open loop at fixed offered rates (latency from when each request was due; server CPU seconds until the last answer, per second of the schedule):',
    '',
    markdownTable(
      ['offered', 'achieved', 'p50', 'p90', 'p99', 'p99.9', 'max', 'failed', 'server CPU (cores)'],
      ingest.fixedRate.map((run) => [
        `${integer(run.offeredRate)}/s`,
        `${integer(run.achievedRate)}/s`,
        ...latencyCells(run.latencyMs),
        failures(run),
        cores(serverCoresAtRate(run)),
      ]),
    ),
  );
}

/** CPU seconds per 100k events of a batch run: the deployment's, and Kafka's and Redis's where visible. */
function batchCpu(run: BatchLoadResult): string {
  const server = run.probe.serverCpuSeconds;
  if (server === undefined || server === null) return '—';
  const per = (seconds: number): string => ((seconds / run.events) * CPU_PER_EVENTS).toFixed(2);
  const services = run.servicesCpuSeconds;
  return services === undefined || services === null ? per(server) : `${per(server + services)} (services ${per(services)})`;
}

function batchSection(results: BenchResults): string | undefined {
  const batch = results.scenarios.batch;
  if (batch === undefined) return undefined;
  return section(
    'Batch ingest (`POST /api/events/batch`)',
    markdownTable(
      [
        'batch size',
        'events',
        'entities',
        'in flight',
        'acknowledged',
        'materialised',
        'events/s materialised',
        `CPU-s per ${CPU_PER_EVENTS / 1000}k events`,
      ],
      batch.map((run) => [
        integer(run.batchSize),
        integer(run.events),
        integer(run.entities),
        String(run.concurrency),
        `${run.ackSeconds.toFixed(2)} s`,
        `${run.materialisedSeconds.toFixed(2)} s`,
        `**${integer(run.eventsPerSecond)}**`,
        batchCpu(run),
      ]),
    ),
  );
}

function readsSection(results: BenchResults): string | undefined {
  const reads = results.scenarios.reads;
  if (reads === undefined) return undefined;
  const listRow = (name: string, list: { matches: number; requests: number; errors: number; latencyMs: LatencySummary }): string[] => [
    name,
    integer(list.matches),
    String(list.requests),
    ...[list.latencyMs.p50, list.latencyMs.p99, list.latencyMs.max].map(milliseconds),
    String(list.errors),
  ];
  return section(
    `Reads (${integer(reads.entities)} entities over ${reads.subPrefixes} sub-prefixes)`,
    `\`GET /api/state/entities/:id\`, each request a different id, against a bare Fastify route returning the same entities from a Map: **${integer(reads.get.fluxRequestsPerSecond)} req/s**.`,
    '',
    ...comparison(reads.get, results.parameters.reads.getSeconds),
    '',
    markdownTable(
      ['list', 'matches', 'requests', 'p50', 'p99', 'max', 'errors'],
      [
        listRow('`?prefix=<sub-prefix>`', reads.listPrefix),
        listRow(`\`?prefix=<sub-prefix>&limit=${reads.listPage.limit}\``, reads.listPage),
        listRow('`?prefix=<whole set>`', reads.listAll),
      ],
    ),
  );
}

function websocketSection(results: BenchResults): string | undefined {
  const websocket = results.scenarios.websocket;
  if (websocket === undefined) return undefined;
  return section(
    `Publish → WebSocket delivery (${websocket.subscribers} subscribers × ${websocket.entitiesPerSubscriber} entities)`,
    `Server data on ${websocket.dataDisk === null ? 'an unknown filesystem' : `${diskText(websocket.dataDisk)} (\`${websocket.dataDisk.path}\`)`}.`,
    '',
    markdownTable(
      ['offered', 'p50', 'p90', 'p99', 'p99.9', 'max', 'delivered / expected', 'lost', 'publish failures'],
      websocket.rates.map((run) => [
        `${integer(run.rate)}/s`,
        ...latencyCells(run.latencyMs),
        `${integer(run.delivered)} / ${integer(run.expected)}${run.deliveredUnacknowledged > 0 ? ` (+${integer(run.deliveredUnacknowledged)} unanswered)` : ''}`,
        integer(run.lost),
        failures(run.publish),
      ]),
    ),
  );
}

function waitAppliedSection(results: BenchResults): string | undefined {
  const wait = results.scenarios['wait-applied'];
  if (wait === undefined) return undefined;
  const row = (name: string, run: { latencyMs: LatencySummary; requestsPerSecond: number; failed: number }): string[] => [
    name,
    ...latencyCells(run.latencyMs),
    integer(run.requestsPerSecond),
    integer(run.failed),
  ];
  return section(
    `Read-your-writes: single-event publish answered once appended vs once applied (${wait.clients} closed-loop writers × ${integer(wait.requestsPerClient)} events)`,
    markdownTable(
      ['answered', 'p50', 'p90', 'p99', 'p99.9', 'max', 'req/s', 'non-200'],
      [row('`POST /api/events` (appended)', wait.appended), row('`POST /api/events?wait=applied`', wait.applied)],
    ),
  );
}

function largeEntitySection(results: BenchResults): string | undefined {
  const large = results.scenarios['large-entity'];
  if (large === undefined) return undefined;
  const { largeEvent, ticks } = large.serverEventLoopDelayMaxMs;
  const where = large.serverEventLoopDelayProcess;
  // Which process, where the deployment has more than one.
  const at = (name: string | null | undefined): string => (name === null || name === undefined || name === 'flux' ? '' : ` (${name})`);
  const loopDelay =
    largeEvent === null || ticks === null
      ? '— (not measured)'
      : `${milliseconds(largeEvent)}${at(where?.largeEvent)} / **${milliseconds(ticks)}**${at(where?.ticks)}`;
  return section(
    `Large entity (one event with ${integer(large.properties - 1)} properties, ${integer(large.largeEventBytes)} bytes, then ${large.batches} batches of ${large.batchSize} \`{"tick": i}\` to the same id)`,
    markdownTable(
      [
        'large event acknowledged / visible',
        'tick batch acknowledged p50 / max',
        'ticks visible after',
        'ticks/s',
        'GET /health p99 / max',
        'worst event-loop delay of any server process: large event / ticks',
      ],
      [
        [
          `${milliseconds(large.largeEventAckMs)} / ${milliseconds(large.largeEventVisibleMs)}`,
          `${milliseconds(large.batchAckMs.p50)} / ${milliseconds(large.batchAckMs.max)}`,
          `${large.ticksVisibleSeconds.toFixed(2)} s`,
          integer(large.ticksPerSecond),
          `${milliseconds(large.health.latencyMs.p99)} / ${milliseconds(large.health.latencyMs.max)}${large.health.failures > 0 ? ` (${integer(large.health.failures)} failed)` : ''}`,
          loopDelay,
        ],
      ],
    ),
  );
}

function filteredListSection(results: BenchResults): string | undefined {
  const filtered = results.scenarios['filtered-list'];
  if (filtered === undefined) return undefined;
  const cells = (latency: LatencySummary): string[] => [latency.p50, latency.p99, latency.max].map(milliseconds);
  const { firstPage, walk, unpaged } = filtered;
  const delays = filtered.listsEventLoopDelayMaxMs;
  const delay = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '—' : milliseconds(ms));
  return section(
    `Filtered list (\`${filtered.filter}\` over ${integer(filtered.entities)} entities: ${integer(filtered.matches)} match)`,
    markdownTable(
      ['list', 'requests', 'p50', 'p99', 'max', 'errors', 'worst server event-loop delay meanwhile'],
      [
        [
          `first page, \`limit=${firstPage.limit}\` (${integer(firstPage.matches)} entities)`,
          integer(firstPage.requests),
          ...cells(firstPage.latencyMs),
          integer(firstPage.errors),
          delay(delays?.firstPage),
        ],
        [
          `each page of a walk by cursor (${integer(walk.requestsPerWalk)} per walk)`,
          integer(walk.walks * walk.requestsPerWalk),
          ...cells(walk.requestLatencyMs),
          integer(walk.errors),
          delay(delays?.walk),
        ],
        ['whole walk by cursor', integer(walk.walks), ...cells(walk.walkMs), integer(walk.errors), ''],
        ['unpaged (streamed)', integer(unpaged.requests), ...cells(unpaged.latencyMs), integer(unpaged.errors), delay(delays?.unpaged)],
      ],
    ),
  );
}

function memorySection(results: BenchResults): string | undefined {
  const memory = results.scenarios.memory;
  if (memory === undefined) return undefined;
  return section(
    'Resident memory (embedded)',
    markdownTable(
      ['entities', 'RSS idle', 'RSS loaded (after settling)', 'of which private / mapped files', 'peak RSS (VmHWM)', 'load rate'],
      [
        [
          integer(memory.entities),
          megabytes(memory.idleRssBytes),
          `**${megabytes(memory.rssBytes)}**`,
          `${megabytes(memory.anonRssBytes)} / ${megabytes(memory.fileRssBytes)}`,
          megabytes(memory.peakRssBytes),
          `${integer(memory.load.eventsPerSecond)} events/s`,
        ],
      ],
    ),
  );
}

function loopDelaySection(results: BenchResults): string | undefined {
  const entries = Object.entries(results.serverEventLoopDelayMaxMs) as [ScenarioName, number | null][];
  if (entries.length === 0) return undefined;
  return section(
    'Server event-loop delay',
    'The worst delay of the server’s event loop under each scenario (its `/metrics`, read at the start and the end of the scenario):',
    '',
    markdownTable(
      entries.map(([name]) => name),
      [entries.map(([, delay]) => (delay === null ? '—' : milliseconds(delay)))],
    ),
  );
}

/** Every load-process warning of the run, with where it came from. */
export function loadWarningsOf(results: BenchResults): string[] {
  const warnings: string[] = [];
  const add = (where: string, probe: LoadProbeSummary): void => {
    for (const warning of probe.warnings) warnings.push(`${where}: ${warning}`);
  };
  const { ingest, batch, reads, websocket, memory } = results.scenarios;
  ingest?.baseline.forEach((run, index) => add(`ingest baseline round ${index + 1}`, run.probe));
  ingest?.flux.forEach((run, index) => add(`ingest Flux round ${index + 1}`, run.probe));
  ingest?.fixedRate.forEach((run) => add(`ingest at ${run.offeredRate}/s`, run.probe));
  batch?.forEach((run) => add(`batch of ${run.batchSize}`, run.probe));
  reads?.get.baseline.forEach((run, index) => add(`GET baseline round ${index + 1}`, run.probe));
  reads?.get.flux.forEach((run, index) => add(`GET Flux round ${index + 1}`, run.probe));
  websocket?.rates.forEach((run) => add(`WebSocket at ${run.rate}/s`, run.probe));
  const large = results.scenarios['large-entity'];
  if (large !== undefined) add('large entity', large.probe);
  const filtered = results.scenarios['filtered-list'];
  if (filtered !== undefined) add('filtered list load', filtered.load.probe);
  if (memory !== undefined) add('memory load', memory.load.probe);
  return warnings;
}

/** The figures of one run, section by section. */
export function runFigures(results: BenchResults): string {
  const sections = [
    ingestSection,
    batchSection,
    readsSection,
    websocketSection,
    waitAppliedSection,
    largeEntitySection,
    filteredListSection,
    memorySection,
    loopDelaySection,
  ]
    .map((section) => section(results))
    .filter((section): section is string => section !== undefined);
  const failed = Object.entries(results.failures).map(([name, error]) => `- **${name} failed**: ${String(error).split('\n')[0]}`);
  const warnings = loadWarningsOf(results).map((warning) => `- ${warning}`);
  if (failed.length > 0) sections.push(section('Failed scenarios', ...failed));
  if (warnings.length > 0) sections.push(section('Load generator warnings', ...warnings));
  return sections.join('\n\n');
}

export function runTitle(results: BenchResults): string {
  const kind = `${results.run.deployment}${results.run.quick ? ', quick' : ''}${results.run.complete ? '' : ', partial'}`;
  return `${results.startedAt.slice(0, 16).replace('T', ' ')} UTC (${kind}), Flux ${results.versions.flux.commit.slice(0, 10)}${results.versions.flux.uncommittedChanges ? ' + uncommitted changes' : ''}`;
}

export function machineLine(results: BenchResults): string {
  const { machine, versions } = results;
  const services = versions.kafka === undefined ? '' : `, Kafka ${versions.kafka}, Redis ${versions.redis ?? '?'}`;
  return `${machine.cpuModel}, ${machine.cores} cores, ${integer(machine.memoryBytes / 2 ** 30)} GiB, ${machine.os} (${machine.kernel}); Node ${versions.node}${services}; load average ${machine.loadAverageAtStart} at start, ${machine.loadAverageAtEnd ?? '?'} at end`;
}
