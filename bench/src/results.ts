/** The results file: every figure of a run, its parameters, the machine and the versions. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchLoadResult } from './batch-load.js';
import type { DeploymentKind } from './deployment.js';
import type { MachineInfo, Versions } from './machine.js';
import type { ProcessMemory } from './proc-stats.js';
import type { Profile } from './profile.js';
import type { FilteredListResult } from './scenarios/filtered-list.js';
import type { LargeEntityResult } from './scenarios/large-entity.js';
import type { MemoryResult } from './scenarios/memory.js';
import type { ReadsResult } from './scenarios/reads.js';
import type { SingleEventIngestResult } from './scenarios/single-event-ingest.js';
import type { WaitAppliedResult } from './scenarios/wait-applied.js';
import type { WebSocketResult } from './scenarios/websocket-delivery.js';
import type { TargetOutcome } from './targets.js';

export const SCENARIOS = ['ingest', 'batch', 'reads', 'websocket', 'wait-applied', 'large-entity', 'filtered-list', 'memory'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** Memory is measured on the embedded deployment only. */
export function scenariosFor(kind: DeploymentKind, only: readonly ScenarioName[] | undefined): ScenarioName[] {
  return SCENARIOS.filter((name) => (only === undefined || only.includes(name)) && (name !== 'memory' || kind === 'embedded'));
}

export interface ScenarioResults {
  readonly ingest?: SingleEventIngestResult;
  readonly batch?: readonly BatchLoadResult[];
  readonly reads?: ReadsResult;
  readonly websocket?: WebSocketResult;
  readonly 'wait-applied'?: WaitAppliedResult;
  readonly 'large-entity'?: LargeEntityResult;
  readonly 'filtered-list'?: FilteredListResult;
  readonly memory?: MemoryResult;
}

/**
 * 2: issue 11's targets, the GET baseline, the event-loop delay per scenario. Files of an older
 * format were judged against other targets and are not shown.
 */
export const RESULTS_FORMAT = 2;

export interface BenchResults {
  readonly format: typeof RESULTS_FORMAT;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly wallSeconds: number;
  readonly run: {
    readonly deployment: DeploymentKind;
    readonly quick: boolean;
    readonly scenarios: readonly ScenarioName[];
    /** Every scenario of the deployment ran and none failed. */
    readonly complete: boolean;
    /** Flux came from another checkout (`--flux-root`): a comparison, not this repository's figures. */
    readonly external: boolean;
    readonly command: string;
  };
  readonly machine: MachineInfo;
  readonly versions: Versions;
  readonly parameters: Profile;
  readonly deployment: {
    readonly startupSeconds: number;
    /** The deployment's processes after the scenarios (memory is measured on its own deployment). */
    readonly processes: readonly ProcessMemory[];
  };
  readonly scenarios: ScenarioResults;
  /**
   * The worst event-loop delay (ms, from /metrics) of any process of the deployment under each
   * scenario that ran and succeeded (the cluster's reducers included); null where none said.
   */
  readonly serverEventLoopDelayMaxMs: Readonly<Partial<Record<ScenarioName, number | null>>>;
  /** Scenarios that failed, with why. */
  readonly failures: Readonly<Partial<Record<ScenarioName, string>>>;
  readonly targets: readonly TargetOutcome[];
}

export interface ResultsNameParts {
  readonly startedAt: Date;
  readonly deployment: DeploymentKind;
  readonly quick: boolean;
  readonly complete: boolean;
  /** Short commit of another checkout measured with --flux-root. */
  readonly externalCommit?: string;
}

/** `<YYYY-MM-DD>[-cluster][-quick][-partial][-flux-<commit>].json` (UTC date); a later run of the same kind that day replaces it. */
export function resultsFileName(parts: ResultsNameParts): string {
  return [
    parts.startedAt.toISOString().slice(0, 10),
    parts.deployment === 'cluster' ? '-cluster' : '',
    parts.quick ? '-quick' : '',
    parts.complete ? '' : '-partial',
    parts.externalCommit === undefined ? '' : `-flux-${parts.externalCommit.slice(0, 10)}`,
    '.json',
  ].join('');
}

export function readResultsDir(dir: string): BenchResults[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  const results: BenchResults[] = [];
  for (const name of names) {
    try {
      const parsed = JSON.parse(readFileSync(join(dir, name), 'utf8')) as BenchResults;
      if (parsed.format === RESULTS_FORMAT) results.push(parsed);
    } catch {
      // Not a results file; ignored.
    }
  }
  return results;
}

/**
 * The results docs/benchmarks.md shows for one deployment: the newest complete full run; else
 * the newest complete quick run; else the newest partial run. A quick run therefore never
 * replaces the figures of a full run, and comparisons against other checkouts never appear.
 */
export function pickForDocs(all: readonly BenchResults[], deployment: DeploymentKind): BenchResults | undefined {
  const rank = (results: BenchResults): number => (results.run.complete ? (results.run.quick ? 1 : 2) : 0);
  return all
    .filter((results) => results.run.deployment === deployment && !results.run.external)
    .sort((a, b) => rank(b) - rank(a) || b.startedAt.localeCompare(a.startedAt))[0];
}
