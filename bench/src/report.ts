/** One run's figures as Markdown: what stdout shows at the end of a run, and what the docs embed. */
import { formatValue, integer, markdownTable, megabytes, milliseconds, thresholdText, verdict } from './format.js';
import type { LatencySummary } from './latency-recorder.js';
import type { LoadProbeSummary } from './load-probe.js';
import type { OpenLoopResult } from './open-loop.js';
import type { BenchResults } from './results.js';
import type { SaturationResult } from './saturation.js';
import type { TargetOutcome } from './targets.js';

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

function ingestSection(results: BenchResults): string | undefined {
  const ingest = results.scenarios.ingest;
  if (ingest === undefined) return undefined;
  const saturationRows = [
    saturationRow('bare Fastify baseline', ingest.baselineRequestsPerSecond, ingest.baseline),
    saturationRow('Flux', ingest.fluxRequestsPerSecond, ingest.flux),
  ];
  return section(
    'Single-event ingest (`POST /api/events`)',
    `Saturation: ${ingest.connections} connections, ${ingest.rounds === 1 ? 'one round' : `${ingest.rounds} alternating rounds`} of ${results.parameters.ingest.saturationSeconds} s per server. **Flux / baseline = ${ingest.ratio.toFixed(2)}**.`,
    '',
    markdownTable(['server', 'mean', 'per round (req/s)', 'closed-loop p99 (worst round)', 'non-2xx + errors'], saturationRows),
    '',
    'Open loop at fixed offered rates (latency from when each request was due):',
    '',
    markdownTable(
      ['offered', 'achieved', 'p50', 'p90', 'p99', 'p99.9', 'max', 'failed'],
      ingest.fixedRate.map((run) => [
        `${integer(run.offeredRate)}/s`,
        `${integer(run.achievedRate)}/s`,
        ...latencyCells(run.latencyMs),
        failures(run),
      ]),
    ),
  );
}

function batchSection(results: BenchResults): string | undefined {
  const batch = results.scenarios.batch;
  if (batch === undefined) return undefined;
  return section(
    'Batch ingest (`POST /api/events/batch`)',
    markdownTable(
      ['batch size', 'events', 'entities', 'in flight', 'acknowledged', 'materialised', 'events/s materialised'],
      batch.map((run) => [
        integer(run.batchSize),
        integer(run.events),
        integer(run.entities),
        String(run.concurrency),
        `${run.ackSeconds.toFixed(2)} s`,
        `${run.materialisedSeconds.toFixed(2)} s`,
        `**${integer(run.eventsPerSecond)}**`,
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
    `\`GET /api/state/entities/:id\`: **${integer(reads.get.requestsPerSecond)} req/s** (${reads.get.connections} connections, closed loop; p50 ${milliseconds(reads.get.latencyMs.p50)}, p99 ${milliseconds(reads.get.latencyMs.p99)}; ${integer(reads.get.non2xx + reads.get.errors)} non-2xx/errors).`,
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
  const loopDelay =
    largeEvent === null || ticks === null
      ? `— (${large.serverEventLoopNote ?? 'not measured'})`
      : `${milliseconds(largeEvent)} / **${milliseconds(ticks)}**`;
  return section(
    `Large entity (one event with ${integer(large.properties - 1)} properties, ${integer(large.largeEventBytes)} bytes, then ${large.batches} batches of ${large.batchSize} \`{"tick": i}\` to the same id)`,
    markdownTable(
      [
        'large event acknowledged / visible',
        'tick batch acknowledged p50 / max',
        'ticks visible after',
        'ticks/s',
        'GET /health p99 / max',
        'server worst event-loop delay: large event / ticks',
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
  if (reads !== undefined) add('GET throughput', reads.get.probe);
  websocket?.rates.forEach((run) => add(`WebSocket at ${run.rate}/s`, run.probe));
  const large = results.scenarios['large-entity'];
  if (large !== undefined) add('large entity', large.probe);
  if (memory !== undefined) add('memory load', memory.load.probe);
  return warnings;
}

/** The figures of one run, section by section. */
export function runFigures(results: BenchResults): string {
  const sections = [ingestSection, batchSection, readsSection, websocketSection, waitAppliedSection, largeEntitySection, memorySection]
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
