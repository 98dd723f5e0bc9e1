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
