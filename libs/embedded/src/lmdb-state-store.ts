import { join } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import {
  ErrorCode,
  FluxError,
  decodeEntity,
  encodeEntity,
  encodeStoredEvent,
  FILTER_SCAN_MAX,
  HISTORY_MAX_PER_ENTITY,
  type ChangeRecord,
  type EntityCounts,
  type EntityQuery,
  type StoredEntity,
  type StoredEvent,
} from '@flux/domain';
import {
  DEFAULT_CHANGE_RETENTION_OFFSETS,
  scanFiltered,
  type ChangeReplay,
  type EntityPage,
  type EntityRecord,
  type HistoryQuery,
  type PartitionClaim,
  type PartitionCommit,
  type ReplayPage,
  type ScannedEntry,
  type StateStore,
} from '@flux/core';
import { openLmdbEnvironment } from './lmdb-environment.js';
import { changeKey, entityIdOf, entityKey, expiryIdOf, expiryKey, hasPrefix, historyEnd, historyKey, historyStart, keyAfter } from './state-keys.js';

// `void db.put(...)`/`void db.remove(...)`: inside a transaction callback lmdb applies the write at
// once, and the transaction's own promise (awaited by the caller) reports whether it committed.

export interface LmdbStateStoreOptions {
  /** Directory of the store's own LMDB environment (created when missing). */
  readonly path: string;
  /** Log offsets of each partition whose changes the change record keeps (default DEFAULT_CHANGE_RETENTION_OFFSETS). */
  readonly changeRetentionOffsets?: number;
}

interface PartitionMeta {
  readonly epoch: number;
  readonly appliedOffset: number;
}

const EVENTS_APPLIED = 'eventsApplied';
/** Events of the commits one LMDB write transaction takes at most, unless one commit alone has more. */
const EVENTS_PER_WRITE_TRANSACTION = 1000;
/** Meta key of the first offset from which a partition's change record is complete. */
const changesFromKey = (partition: number): string => `changesFrom/${partition}`;
const FENCED = Symbol('fenced');

/*
 * Entities and history are stored as JSON strings, not lmdb's default msgpack: msgpackr
 * turns a `__proto__` property into `__proto_` on the way back (verified with lmdb 3.5),
 * while JSON.parse keeps `__proto__` as an own data property, which the contract requires.
 */
const decodeStoredEvent = (json: string): StoredEvent => JSON.parse(json) as StoredEvent;

/** Where a list over `prefix` strictly after `after` starts reading. */
function rangeStart(prefix: Buffer, after: string | undefined): { start?: Buffer } {
  let start = prefix;
  if (after !== undefined) {
    const next = keyAfter(after);
    if (Buffer.compare(next, start) > 0) start = next;
  }
  return start.length > 0 ? { start } : {};
}

/**
 * Materialised state over its own LMDB environment. Every commit is one LMDB transaction that
 * first checks the claim's epoch, then writes entities, history, counts and the partition's
 * applied offset together, so state and offset always agree, even after a crash.
 *
 * Commits resolve once visible, not once on disk (see `Durability`): everything here is
 * derived from the durable log, so an OS crash that rolls the store back to an earlier commit
 * only makes the reducers replay from that commit's offset. Whoever discards log records must
 * first wait for `flushed()`.
 */
export class LmdbStateStore implements StateStore, ChangeReplay {
  /** Entity id (UTF-8 bytes) → JSON of the StoredEntity. */
  private readonly entitiesDb: Database<string, Buffer>;
  /** historyKey(id, offset) → JSON of the StoredEvent. */
  private readonly historyDb: Database<string, Buffer>;
  /** Entity id → number of history entries kept, so trimming needs no scan. */
  private readonly historySizesDb: Database<number, Buffer>;
  private readonly partitionsDb: Database<PartitionMeta, number>;
  /** Count key (a namespace, or '') → entities; ordered-binary keys accept ''. */
  private readonly countsDb: Database<number, string>;
  private readonly metaDb: Database<number, string>;
  /** expiryKey(partition, expiresAt, id) → '' : the entities with a ttl, soonest first. */
  private readonly expiriesDb: Database<string, Buffer>;
  /**
   * changeKey(partition, last offset) → JSON array of one commit's ChangeRecords: the change
   * record subscribers resume from.
   */
  private readonly changesDb: Database<string, Buffer>;
  private closing: Promise<void> | undefined;
  /** Events of the commits queued and not yet committed, and when the last of them settles (see commit()). */
  private queuedEvents = 0;
  private lastQueued: Promise<void> = Promise.resolve();

  private constructor(
    private readonly root: RootDatabase,
    private readonly changeRetentionOffsets: number,
  ) {
    this.entitiesDb = root.openDB<string, Buffer>('entities', { encoding: 'string', keyEncoding: 'binary' });
    this.historyDb = root.openDB<string, Buffer>('history', { encoding: 'string', keyEncoding: 'binary' });
    this.historySizesDb = root.openDB<number, Buffer>('history-sizes', { keyEncoding: 'binary' });
    this.partitionsDb = root.openDB<PartitionMeta, number>('partitions', { keyEncoding: 'uint32' });
    this.countsDb = root.openDB<number, string>('counts', {});
    this.metaDb = root.openDB<number, string>('meta', {});
    this.expiriesDb = root.openDB<string, Buffer>('expiries', { encoding: 'string', keyEncoding: 'binary' });
    this.changesDb = root.openDB<string, Buffer>('changes', { encoding: 'string', keyEncoding: 'binary' });
  }

  static open(options: LmdbStateStoreOptions): LmdbStateStore {
    const retention = options.changeRetentionOffsets ?? DEFAULT_CHANGE_RETENTION_OFFSETS;
    if (!Number.isSafeInteger(retention) || retention < 0)
      throw new RangeError(`changeRetentionOffsets must be a non-negative integer, got ${retention}`);
    return new LmdbStateStore(openLmdbEnvironment(options.path, 'visible'), retention);
  }

  /** The store inside an embedded data directory (`<dataDir>/state`). */
  static openIn(dataDir: string, options: Omit<LmdbStateStoreOptions, 'path'> = {}): LmdbStateStore {
    return LmdbStateStore.open({ ...options, path: join(dataDir, 'state') });
  }

  // Reads are synchronous LMDB reads of the latest committed snapshot; `async` turns their
  // exceptions into rejections.

  async getEntity(id: string): Promise<StoredEntity | undefined> {
    const json = this.entitiesDb.get(entityKey(id));
    return json === undefined ? undefined : decodeEntity(json);
  }

  async getEntityJson(id: string): Promise<string | undefined> {
    return this.entitiesDb.get(entityKey(id));
  }

  async loadEntities(_partition: number, ids: readonly string[]): Promise<Map<string, StoredEntity>> {
    const loaded = new Map<string, StoredEntity>();
    for (const id of ids) {
      const json = this.entitiesDb.get(entityKey(id));
      if (json !== undefined) loaded.set(id, decodeEntity(json));
    }
    return loaded;
  }

  async listEntities(query: EntityQuery): Promise<EntityPage> {
    if (!(query.limit >= 1)) return { entities: [] };
    const prefix = entityKey(query.prefix);
    if (query.filter !== undefined) {
      // Each slice is one short synchronous read; the scan yields between them.
      const readSlice = (after: string | undefined, count: number): ScannedEntry[] =>
        [...this.entitiesDb.getRange({ ...rangeStart(prefix, after), limit: count })]
          .filter(({ key }) => hasPrefix(key, prefix))
          .map(({ key, value }) => ({ id: entityIdOf(key), json: value }));
      return scanFiltered(readSlice, { ...query, filter: query.filter, budget: FILTER_SCAN_MAX });
    }
    const entities: EntityRecord[] = [];
    let more = false;
    // Reading one past the limit tells whether more remain without a second query.
    for (const { key, value } of this.entitiesDb.getRange(rangeStart(prefix, query.after))) {
      if (!hasPrefix(key, prefix)) break;
      if (entities.length === query.limit) {
        more = true;
        break;
      }
      entities.push({ id: entityIdOf(key), entity: decodeEntity(value) });
    }
    return more ? { entities, lastId: entities[entities.length - 1]!.id } : { entities };
  }

  async history(entityId: string, query: HistoryQuery): Promise<readonly StoredEvent[]> {
    const limit = Math.min(query.limit, HISTORY_MAX_PER_ENTITY);
    if (!(limit >= 1)) return [];
    const events: StoredEvent[] = [];
    // Newest first: reverse from the entity's upper bound (inclusive, never a key itself).
    for (const { value } of this.historyDb.getRange({ start: historyEnd(entityId), end: historyStart(entityId), reverse: true })) {
      const stored = decodeStoredEvent(value);
      // Storage times follow log order only as far as the clock does, so filter rather than stop.
      if (stored.storedAt < query.sinceMs) continue;
      events.push(stored);
      if (events.length >= limit) break;
    }
    return events;
  }

  async counts(): Promise<EntityCounts> {
    const entries: [string, number][] = [];
    let total = 0;
    for (const { key, value } of this.countsDb.getRange({})) {
      entries.push([key, value]);
      total += value;
    }
    // Object.fromEntries defines own data properties, so a '__proto__' count key stays data.
    return { total, byNamespace: Object.fromEntries(entries) };
  }

  async eventsApplied(): Promise<number> {
    return this.metaDb.get(EVENTS_APPLIED) ?? 0;
  }

  async claimPartition(partition: number): Promise<PartitionClaim> {
    assertPartition(partition);
    return this.partitionsDb.childTransaction(() => {
      const stored = this.partitionsDb.get(partition);
      const claim: PartitionClaim = { partition, epoch: (stored?.epoch ?? 0) + 1, appliedOffset: stored?.appliedOffset ?? -1 };
      void this.partitionsDb.put(partition, { epoch: claim.epoch, appliedOffset: claim.appliedOffset });
      return claim;
    });
  }

  /** The partition's applied offset (-1 before any commit): how far reads reflect the log. */
  async position(partition: number): Promise<number> {
    assertPartition(partition);
    return this.partitionsDb.get(partition)?.appliedOffset ?? -1;
  }

  async replayAfter(partition: number, afterOffset: number, limit: number): Promise<ReplayPage> {
    assertPartition(partition);
    const records: ChangeRecord[] = [];
    const after = Math.floor(afterOffset);
    // Entries are keyed by the last offset they hold: the first one at or past after + 1 is
    // the first that can hold a change after the position.
    const start = changeKey(partition, Math.max(0, after + 1));
    let more = false;
    scan: for (const { value } of this.changesDb.getRange({ start, end: changeKey(partition + 1, 0) })) {
      for (const record of changesOf(value)) {
        if (record.offset <= after) continue;
        if (records.length >= limit) {
          more = true;
          break scan;
        }
        records.push(record);
      }
    }
    // Read after the records: a trim meanwhile can only make the answer more cautious.
    const from = this.metaDb.get(changesFromKey(partition)) ?? 0;
    return { records, complete: afterOffset + 1 >= from, ...(more ? { next: records[records.length - 1]!.offset } : {}) };
  }

  async claimEpoch(partition: number): Promise<number> {
    assertPartition(partition);
    return this.partitionsDb.get(partition)?.epoch ?? 0;
  }

  async commit(claim: PartitionClaim, commit: PartitionCommit): Promise<void> {
    assertPartition(claim.partition);
    // Encode first: data JSON cannot represent (a BigInt, a cycle) fails before the transaction.
    const upserts = commit.upserts.map(({ id, entity }) => ({ key: entityKey(id), json: encodeEntity(entity) }));
    const history = commit.history.map(({ entityId, offset, stored, encodedEvent }) => ({
      entityId,
      key: historyKey(entityId, offset),
      json: encodeStoredEvent(stored, encodedEvent),
    }));
    let oldestOffset = Infinity;
    for (const { offset } of commit.history) oldestOffset = Math.min(oldestOffset, offset);
    // A commit without its changes (from a writer that does not pass them) leaves a hole in the
    // record; with no retention nothing is recorded at all.
    const changesKnown = commit.changes !== undefined && this.changeRetentionOffsets > 0;
    // One entry per commit, keyed by its last change's offset: one write where a write per event
    // cost as much as the entity itself.
    const changes = commit.changes ?? [];
    const changeEntry =
      changes.length === 0 ? undefined : { key: changeKey(claim.partition, changes[changes.length - 1]!.offset), json: JSON.stringify(changes) };

    // A child transaction: if anything throws half-way (a key too long for LMDB, say), LMDB
    // rolls back every write of the commit, while a plain lmdb-js transaction callback would
    // commit the writes made before the throw.
    //
    // lmdb-js runs the callbacks of every child transaction queued before its write transaction
    // starts in one synchronous call. Commits join the queue until it holds
    // EVENTS_PER_WRITE_TRANSACTION events, then wait for it to be written: many small commits
    // still share one write transaction, but sixteen partitions' large ones no longer hold the
    // event loop all at once.
    const size = Math.max(1, commit.history.length + commit.deletes.length);
    while (this.queuedEvents > 0 && this.queuedEvents + size > EVENTS_PER_WRITE_TRANSACTION) await this.lastQueued;
    this.queuedEvents += size;
    // Called from a reaction, so that even a synchronous throw settles `transaction` (and the count).
    const transaction = Promise.resolve().then(() =>
      this.partitionsDb.childTransaction((): typeof FENCED | PartitionMeta => {
        const stored = this.partitionsDb.get(claim.partition);
        // The fence: checked before any write, inside the same transaction as the writes.
        if (stored === undefined || stored.epoch !== claim.epoch) return FENCED;
        // Deletes first: an id in both lists ends up with its upserted state.
        for (const id of commit.deletes) void this.entitiesDb.remove(entityKey(id));
        for (const { key, json } of upserts) void this.entitiesDb.put(key, json);
        for (const { id, previous, next } of commit.expiries ?? []) {
          if (previous !== undefined) void this.expiriesDb.remove(expiryKey(claim.partition, previous, id));
          if (next !== undefined) void this.expiriesDb.put(expiryKey(claim.partition, next, id), '');
        }
        // History of offsets past the applied one cannot be stored yet: only a replay needs the
        // per-entry existence check.
        this.appendHistory(history, oldestOffset <= stored.appliedOffset);
        for (const [countKey, delta] of Object.entries(commit.countDeltas)) {
          if (delta === 0) continue;
          const next = (this.countsDb.get(countKey) ?? 0) + delta;
          if (next === 0) void this.countsDb.remove(countKey);
          else void this.countsDb.put(countKey, next);
        }
        if (commit.eventsApplied !== 0) void this.metaDb.put(EVENTS_APPLIED, (this.metaDb.get(EVENTS_APPLIED) ?? 0) + commit.eventsApplied);
        this.recordChanges(claim.partition, stored.appliedOffset, commit.lastOffset, changesKnown, changeEntry);
        const applied: PartitionMeta = { epoch: claim.epoch, appliedOffset: commit.lastOffset };
        void this.partitionsDb.put(claim.partition, applied);
        return applied;
      }),
    );
    this.lastQueued = transaction.then(
      () => undefined,
      () => undefined,
    );
    void this.lastQueued.then(() => (this.queuedEvents -= size));
    const outcome = await transaction;
    if (outcome === FENCED) {
      const current = this.partitionsDb.get(claim.partition);
      throw new FluxError(
        ErrorCode.Fenced,
        `partition ${claim.partition} is owned by a newer claim (epoch ${current?.epoch ?? 'none'}, this claim has ${claim.epoch})`,
      );
    }
  }

  async expiredEntities(partition: number, nowMs: number, limit: number): Promise<readonly string[]> {
    assertPartition(partition);
    if (!(limit >= 1)) return [];
    const keys = this.expiriesDb.getKeys({ start: expiryKey(partition, 0), end: expiryKey(partition, nowMs + 1), limit });
    return [...keys].map(expiryIdOf);
  }

  /**
   * Another thread of the process committed: the next read here must see it. lmdb-js keeps a
   * thread's read snapshot until its next timer turn, so a read made in the same turn as the
   * news of a commit (a waiting writer answered, then a read) could otherwise miss it.
   */
  committedElsewhere(): void {
    if (this.closing === undefined) this.root.resetReadTxn();
  }

  /** Resolves once every commit made so far (by this thread) is on disk. */
  async flushed(): Promise<void> {
    await this.root.flushed;
  }

  close(): Promise<void> {
    this.closing ??= this.root.close();
    return this.closing;
  }

  /**
   * Adds a commit's changes to the change record and drops those older than the retention
   * window. `changesFrom` says from which offset the record is complete: a store that had
   * state before it kept a record starts its record at the commit after that state, and a
   * commit that came without its changes (`known` false) moves it past that commit. An entry
   * is dropped once its last change is out of the window, so the record may keep a few changes
   * more than the window; `changesFrom` still says where it is complete.
   */
  private recordChanges(
    partition: number,
    appliedOffset: number,
    lastOffset: number,
    known: boolean,
    entry: { key: Buffer; json: string } | undefined,
  ): void {
    if (known && entry !== undefined) void this.changesDb.put(entry.key, entry.json);
    const fromKey = changesFromKey(partition);
    const recordedFrom = this.metaDb.get(fromKey);
    const from = recordedFrom ?? (appliedOffset < 0 ? 0 : appliedOffset + 1);
    const cutoff = Math.max(from, known ? lastOffset + 1 - this.changeRetentionOffsets : lastOffset + 1);
    if (cutoff > from) {
      const dropped = [...this.changesDb.getKeys({ start: changeKey(partition, 0), end: changeKey(partition, cutoff) })];
      for (const key of dropped) void this.changesDb.remove(key);
    }
    if (recordedFrom !== cutoff) void this.metaDb.put(fromKey, cutoff);
  }

  /** Adds history entries and trims each touched entity to its newest HISTORY_MAX_PER_ENTITY. */
  private appendHistory(entries: readonly { entityId: string; key: Buffer; json: string }[], mayReplay: boolean): void {
    const added = new Map<string, number>();
    for (const { entityId, key, json } of entries) {
      // A replayed offset overwrites its entry rather than counting twice.
      if (!mayReplay || !this.historyDb.doesExist(key)) added.set(entityId, (added.get(entityId) ?? 0) + 1);
      void this.historyDb.put(key, json);
    }
    for (const [entityId, count] of added) {
      const sizeKey = entityKey(entityId);
      let size = (this.historySizesDb.get(sizeKey) ?? 0) + count;
      const excess = size - HISTORY_MAX_PER_ENTITY;
      if (excess > 0) {
        // Collected before removing, so no cursor is invalidated under the iteration.
        const oldest = [...this.historyDb.getKeys({ start: historyStart(entityId), end: historyEnd(entityId), limit: excess })];
        for (const key of oldest) void this.historyDb.remove(key);
        size -= oldest.length;
      }
      void this.historySizesDb.put(sizeKey, size);
    }
  }
}

/** The changes of one entry: a commit's array, or one change as stores before chunking wrote them. */
function changesOf(json: string): readonly ChangeRecord[] {
  const parsed = JSON.parse(json) as ChangeRecord[] | ChangeRecord;
  return Array.isArray(parsed) ? parsed : [parsed];
}

function assertPartition(partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition > 0xffffffff) {
    throw new RangeError(`partition must be a non-negative integer, got ${partition}`);
  }
}
