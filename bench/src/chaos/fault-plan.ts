/**
 * When and what to kill during a chaos run. Each fault gets its own slot of the load's duration
 * and a random moment inside it, so faults are spread over the run, never overlap their
 * recoveries, and a given seed always gives the same plan.
 */
import type { SeededRandom } from './random.js';

export type FaultTarget = 'server' | 'reducer' | 'query-gateway' | 'ingest-gateway' | 'redis' | 'kafka';

export interface PlannedFault {
  /** Milliseconds after the load started. */
  readonly atMs: number;
  readonly target: FaultTarget;
}

export function faultTargets(cluster: boolean, quick: boolean): FaultTarget[] {
  if (!cluster) return quick ? ['server', 'server', 'server'] : ['server', 'server', 'server', 'server', 'server', 'server'];
  const processes: FaultTarget[] = quick
    ? ['reducer', 'query-gateway', 'ingest-gateway', 'reducer']
    : ['reducer', 'query-gateway', 'ingest-gateway', 'reducer', 'query-gateway', 'reducer', 'ingest-gateway', 'reducer'];
  // One Redis and one Kafka restart, placed between process kills.
  return [...processes.slice(0, 2), 'redis', ...processes.slice(2, 3), 'kafka', ...processes.slice(3)];
}

/**
 * Faults in [10 %, 80 %] of the run: the start lets subscribers and load settle, the end lets
 * the last restart finish before the load stops.
 */
export function planFaults(targets: readonly FaultTarget[], durationMs: number, random: SeededRandom): PlannedFault[] {
  const start = durationMs * 0.1;
  const slot = (durationMs * 0.7) / Math.max(1, targets.length);
  return targets.map((target, index) => ({ target, atMs: Math.round(start + slot * index + random.next() * slot * 0.6) }));
}
