import type { ChangeRecord } from '@flux/domain';

/** Changes of one partition after a position, as the change record keeps them. */
export interface ReplayPage {
  /** In log order, every one after the position asked for (at most the limit asked for). */
  readonly records: readonly ChangeRecord[];
  /** Set when more changes follow: pass it as `afterOffset` for the next page. */
  readonly next?: number;
  /**
   * False when the change record no longer reaches back to the position asked for (older
   * changes were trimmed): the page may lack changes right after it, and a subscriber resuming
   * from there must read the current state again instead.
   */
  readonly complete: boolean;
}

/**
 * The store's record of recent changes, kept for a bounded window of log offsets per partition
 * (see DEFAULT_CHANGE_RETENTION_OFFSETS), written in the same commit as the state they produced:
 * a WebSocket subscriber resumes from the position it last saw by replaying them.
 */
export interface ChangeReplay {
  /** The partition's applied offset now (-1 before any). */
  position(partition: number): Promise<number>;
  /** Changes of the partition after `afterOffset`, in log order, at most `limit`. */
  replayAfter(partition: number, afterOffset: number, limit: number): Promise<ReplayPage>;
}

/**
 * Log offsets of each partition whose changes the record keeps by default: a subscriber can
 * resume from a position at most this far behind its partition's newest change.
 */
export const DEFAULT_CHANGE_RETENTION_OFFSETS = 10_000;
