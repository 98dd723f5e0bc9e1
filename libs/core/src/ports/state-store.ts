import type { ChangeRecord, EntityCounts, EntityQuery, StoredEntity, StoredEvent } from '@flux/domain';

export interface EntityRecord {
  readonly id: string;
  readonly entity: StoredEntity;
}

export interface EntityPage {
  readonly entities: readonly EntityRecord[];
  /** Set when more entities match: the last id of this page, to pass as `after`. */
  readonly lastId?: string;
}

export interface HistoryQuery {
  /** Only events stored at or after this time (epoch milliseconds). */
  readonly sinceMs: number;
  readonly limit: number;
}

/** The read side of materialised state: what the query API needs. */
export interface StateReader {
  getEntity(id: string): Promise<StoredEntity | undefined>;
  /**
   * The entity as stored JSON (the layout of `encodeEntity`, or any JSON of a StoredEntity), so
   * a point read can be answered without decoding its properties (see `entityViewJson`).
   */
  getEntityJson(id: string): Promise<string | undefined>;
  listEntities(query: EntityQuery): Promise<EntityPage>;
  /** The entity's stored events, newest first (tombstones included). */
  history(entityId: string, query: HistoryQuery): Promise<readonly StoredEvent[]>;
  counts(): Promise<EntityCounts>;
  /** Events applied since the store was created, across all partitions. */
  eventsApplied(): Promise<number>;
}

/** Ownership of one partition by one reducer; its epoch fences every older owner. */
export interface PartitionClaim {
  readonly partition: number;
  readonly epoch: number;
  /** The offset of the last applied record, or -1 when none was applied yet. */
  readonly appliedOffset: number;
}

export interface HistoryEntry {
  readonly entityId: string;
  readonly offset: number;
  readonly stored: StoredEvent;
  /** `encodeEvent(stored.event)` when the caller has it (the log record's value), to spare a re-encoding. */
  readonly encodedEvent?: string;
}

/**
 * An entity whose expiry (see ttl.ts in @flux/domain) a commit changes: the store's expiry index
 * drops `previous` and adds `next` (either absent: none).
 */
export interface ExpiryChange {
  readonly id: string;
  readonly previous?: number;
  readonly next?: number;
}

/** Everything one reducer batch changes, committed atomically with its offset. */
export interface PartitionCommit {
  /** Offset of the last log record this commit reflects. */
  readonly lastOffset: number;
  readonly upserts: readonly EntityRecord[];
  readonly deletes: readonly string[];
  readonly history: readonly HistoryEntry[];
  /** Entity count changes per namespace key (see `countKey`). */
  readonly countDeltas: Readonly<Record<string, number>>;
  readonly eventsApplied: number;
  /** Changes to the partition's expiry index (absent: none). */
  readonly expiries?: readonly ExpiryChange[];
  /**
   * The changes the commit's events made, in log order, as the reducer publishes them: kept in
   * the store's change record for subscribers that resume (see ChangeReplay).
   */
  readonly changes?: readonly ChangeRecord[];
}

/** The write side, used only by the reducer that owns a partition. */
export interface PartitionStateWriter {
  /** Takes ownership of a partition: bumps and returns its epoch and the applied offset. */
  claimPartition(partition: number): Promise<PartitionClaim>;
  /**
   * The epoch of the partition's newest claim (0 when it was never claimed). An owner whose
   * claim is older has been replaced, even if it has nothing to commit that would tell it so.
   */
  claimEpoch(partition: number): Promise<number>;
  /**
   * The current state of the given entities of a partition (absent ids are left out), as
   * fresh objects the store keeps no reference to: the reducer merges into them in place.
   */
  loadEntities(partition: number, ids: readonly string[]): Promise<Map<string, StoredEntity>>;
  /**
   * Applies a commit atomically (all of it or none) together with the partition's applied
   * offset. Rejects with a FluxError of code FLUX_FENCED when a newer claim exists.
   */
  commit(claim: PartitionClaim, commit: PartitionCommit): Promise<void>;
  /**
   * Entities of the partition whose expiry is at or before `nowMs`, soonest first, at most
   * `limit`: from the expiry index each commit keeps together with the state, so they are found
   * after a restart or a handover too.
   */
  expiredEntities(partition: number, nowMs: number, limit: number): Promise<readonly string[]>;
}

export interface StateStore extends StateReader, PartitionStateWriter {
  close(): Promise<void>;
}
