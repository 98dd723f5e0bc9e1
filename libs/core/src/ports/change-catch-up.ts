import type { StoredEntity } from '@flux/domain';

/** An entity that changed after the position asked for, as it is at the page's position. */
export interface ChangedEntity {
  readonly id: string;
  /** Undefined when it does not exist at the page's position. */
  readonly entity: StoredEntity | undefined;
  /** Deleted at least once after the position asked for. */
  readonly deleted: boolean;
  /** Properties removed (set to null) after the position asked for and absent from `entity`. */
  readonly removed: readonly string[];
}

export interface ChangedPage {
  readonly entities: readonly ChangedEntity[];
  /** The partition's applied offset the entities are read at: every change up to it, none after. */
  readonly position: number;
  /** Set when more changes follow: pass it as `afterOffset` for the next page. */
  readonly next?: number;
  /**
   * False when the record of changes no longer reaches back to the position asked for: some
   * entities changed after it may be missing from the pages.
   */
  readonly complete: boolean;
}

/**
 * The shared store's record of recent changes, from which a reader of the change feed that
 * missed some (a query gateway whose stream from a shard was down) catches up: which entities
 * of a partition changed after a position, and how they are now.
 */
export interface ChangeCatchUp {
  /** The partition's applied offset now (-1 before any). */
  position(partition: number): Promise<number>;
  /** Entities of the partition changed after `afterOffset`, about `limit` changes per page. */
  changedAfter(partition: number, afterOffset: number, limit: number): Promise<ChangedPage>;
}
