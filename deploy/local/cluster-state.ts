/**
 * The file `start:cluster` keeps current when FLUX_CLUSTER_STATE_FILE is set: which process
 * runs under which pid, and where each one serves its Prometheus metrics. Failure tests, the
 * chaos and soak runs and the benchmark read it.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface ClusterState {
  /** Pid of the launcher (the TCP balancer runs in it). */
  readonly supervisor: number;
  /** Pid of each running process by name (`reducer-0`, `ingest-gateway`, `query-gateway-1`, ...). */
  readonly processes: Readonly<Record<string, number>>;
  /** `GET` URL of each process's metrics by name; the ports stay the same across restarts. */
  readonly metrics: Readonly<Record<string, string>>;
}

/** Writes the state aside and renames it, so a reader never sees a half-written file. */
export function writeClusterState(file: string, state: ClusterState): void {
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify(state, null, 2));
  renameSync(partial, file);
}

export function readClusterState(file: string): ClusterState {
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterState;
}
