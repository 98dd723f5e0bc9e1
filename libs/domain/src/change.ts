import type { StoredEntity } from './entity.js';
import type { PropertyChange } from './merge.js';

/** Where an event sits in the log. */
export interface LogPosition {
  readonly partition: number;
  readonly offset: number;
}

/**
 * One applied event as subscribers see it. Every change carries its log position, so a
 * subscriber can later resume without gaps.
 */
export type ChangeRecord = LogPosition &
  (
    | {
        readonly kind: 'upsert';
        readonly entityId: string;
        readonly changes: readonly PropertyChange[];
        readonly version: number;
        /** Epoch milliseconds at which Flux stored the event. */
        readonly timestamp: number;
        readonly source: string;
      }
    | {
        readonly kind: 'delete';
        readonly entityId: string;
        readonly timestamp: number;
        readonly source: string;
      }
  );

/**
 * An entity as it is at a log position, in place of changes a subscriber missed: every change
 * of its partition up to `offset` is reflected, none after. `deleted` and `removed` say what a
 * subscriber's earlier picture may still hold that is gone now.
 */
export interface EntitySnapshot extends LogPosition {
  readonly kind: 'snapshot';
  readonly entityId: string;
  /** The entity at `offset`; undefined when it does not exist then. */
  readonly entity: StoredEntity | undefined;
  /** It was deleted at least once among the missed changes: none of its older properties remain. */
  readonly deleted: boolean;
  /** Properties the missed changes removed (set to null) that `entity` does not have. */
  readonly removed: readonly string[];
  /** Epoch milliseconds: the entity's lastUpdated, or when it was read when it does not exist. */
  readonly timestamp: number;
}

/**
 * Changes of a partition after `offset` that can no longer be told apart (the store's record
 * of recent changes does not reach back that far): whoever derived state from the feed must
 * start again from a fresh read.
 */
export interface ChangeGap extends LogPosition {
  readonly kind: 'gap';
}

/**
 * What a subscriber of a query gateway's feed receives: applied changes and, where some were
 * missed (a shard's stream was down), snapshots of the entities they touched, or a gap.
 */
export type FeedRecord = ChangeRecord | EntitySnapshot | ChangeGap;

/**
 * What the reducer did with one event of a commit: applied it (`version` is its entity's version
 * afterwards, 0 when the event deleted it), rejected it because its condition did not hold
 * (`currentVersion` is the entity's version, which it kept), or refused it because its entity
 * would have exceeded the size bound.
 */
export type EventOutcome =
  | { readonly offset: number; readonly kind: 'applied'; readonly version: number }
  | { readonly offset: number; readonly kind: 'conflict'; readonly currentVersion: number }
  | { readonly offset: number; readonly kind: 'refused'; readonly currentVersion: number };

/**
 * A reducer commit as writers waiting for their events see it: the partition is applied up to
 * `lastOffset`, and `outcomes` (in offset order) says what became of each event of the commit.
 * An offset of the commit without an outcome was not an event (an undecodable record, skipped).
 * `outcomes` is absent where the progress travelled without them (a change stream for readers).
 */
export interface CommitProgress {
  readonly partition: number;
  readonly lastOffset: number;
  readonly outcomes?: readonly EventOutcome[];
}

/** The outcome of the event at `offset`, found by bisection (outcomes are in offset order). */
export function outcomeAt(outcomes: readonly EventOutcome[], offset: number): EventOutcome | undefined {
  let low = 0;
  let high = outcomes.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const candidate = outcomes[middle]!;
    if (candidate.offset === offset) return candidate;
    if (candidate.offset < offset) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
}
