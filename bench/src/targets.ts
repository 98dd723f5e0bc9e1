/**
 * The performance targets, each evaluated as met / not met from a run's figures. They are
 * reported, never asserted: figures from a shared 2-core machine are too noisy to fail a build.
 */
import type { DeploymentKind } from './deployment.js';
import type { ScenarioResults } from './results.js';

export type TargetUnit = 'ratio' | 'events/s' | 'req/s' | 'ms' | 'bytes';

/** What a target is: the figure it judges and the bound it sets. */
interface TargetDefinition {
  readonly id: string;
  readonly deployment: DeploymentKind;
  readonly description: string;
  readonly comparator: '>=' | '<';
  readonly threshold: number;
  readonly unit: TargetUnit;
}

export interface TargetOutcome extends TargetDefinition {
  /** The measured figure; null when the run did not measure it. */
  readonly measured: number | null;
  /** null: not evaluated (scenario not run, or run too small to tell). */
  readonly met: boolean | null;
  readonly note?: string;
}

interface Measurement {
  readonly value?: number;
  readonly note?: string;
  /** The figure exists but the target cannot count as met (e.g. events were lost). */
  readonly disqualified?: boolean;
}

interface TargetSpec extends TargetDefinition {
  readonly measure: (scenarios: ScenarioResults) => Measurement;
}

const batchOf = (scenarios: ScenarioResults, size: number): Measurement => {
  const run = scenarios.batch?.find((batch) => batch.batchSize === size);
  return run === undefined ? { note: 'batch ingest not run' } : { value: run.eventsPerSecond };
};

const websocketP99 = (scenarios: ScenarioResults, rate: number): Measurement => {
  const run = scenarios.websocket?.rates.find((entry) => entry.rate === rate);
  if (run === undefined) return { note: `WebSocket delivery at ${rate}/s not run` };
  if (run.lost > 0) return { value: run.latencyMs.p99, disqualified: true, note: `${run.lost} of ${run.expected} events never arrived` };
  return { value: run.latencyMs.p99 };
};

export const MEMORY_TARGET_ENTITIES = 1_000_000;

export const TARGETS: readonly TargetSpec[] = [
  {
    id: 'single-event-ingest',
    deployment: 'embedded',
    description: 'single-event ingest, saturation, as a ratio of the bare Fastify baseline',
    comparator: '>=',
    threshold: 0.5,
    unit: 'ratio',
    measure: (scenarios) => (scenarios.ingest === undefined ? { note: 'ingest not run' } : { value: scenarios.ingest.ratio }),
  },
  {
    id: 'batch-ingest',
    deployment: 'embedded',
    description: 'batch ingest (batches of 1000), events/s until materialised',
    comparator: '>=',
    threshold: 300_000,
    unit: 'events/s',
    measure: (scenarios) => batchOf(scenarios, 1000),
  },
  {
    id: 'websocket-p99',
    deployment: 'embedded',
    description: 'publish → WebSocket p99 at 5000 events/s',
    comparator: '<',
    threshold: 10,
    unit: 'ms',
    measure: (scenarios) => websocketP99(scenarios, 5000),
  },
  {
    id: 'get-throughput',
    deployment: 'embedded',
    description: 'GET /api/state/entities/:id throughput',
    comparator: '>=',
    threshold: 25_000,
    unit: 'req/s',
    measure: (scenarios) => (scenarios.reads === undefined ? { note: 'reads not run' } : { value: scenarios.reads.get.requestsPerSecond }),
  },
  {
    id: 'memory-1m',
    deployment: 'embedded',
    description: 'resident memory with 1M entities',
    comparator: '<',
    threshold: 1.5e9,
    unit: 'bytes',
    measure: (scenarios) => {
      const run = scenarios.memory;
      if (run === undefined) return { note: 'memory not run' };
      if (run.entities < MEMORY_TARGET_ENTITIES)
        return { value: run.rssBytes, note: `this run loaded ${run.entities} entities, not ${MEMORY_TARGET_ENTITIES}` };
      return { value: run.rssBytes };
    },
  },
  {
    id: 'batch-ingest',
    deployment: 'cluster',
    description: 'batch ingest (batches of 1000), events/s until materialised',
    comparator: '>=',
    threshold: 50_000,
    unit: 'events/s',
    measure: (scenarios) => batchOf(scenarios, 1000),
  },
  {
    id: 'websocket-p99',
    deployment: 'cluster',
    description: 'publish → WebSocket p99 at 2000 events/s',
    comparator: '<',
    threshold: 50,
    unit: 'ms',
    measure: (scenarios) => websocketP99(scenarios, 2000),
  },
];

function compare(value: number, comparator: '>=' | '<', threshold: number): boolean {
  return comparator === '>=' ? value >= threshold : value < threshold;
}

export function evaluateTargets(deployment: DeploymentKind, scenarios: ScenarioResults): TargetOutcome[] {
  return TARGETS.filter((spec) => spec.deployment === deployment).map(({ measure, ...definition }) => {
    const { value, note, disqualified } = measure(scenarios);
    // A figure with a note that is not a disqualification (a quick run's 100k entities) is shown but not judged.
    const judged = value !== undefined && (note === undefined || disqualified === true);
    return {
      ...definition,
      measured: value ?? null,
      met: judged ? disqualified !== true && compare(value, definition.comparator, definition.threshold) : null,
      ...(note === undefined ? {} : { note }),
    };
  });
}
