import { encodeEntity, encodeStoredEvent, HISTORY_MAX_PER_ENTITY, isTombstone, type StoredEvent } from '@flux/domain';
import { DEFAULT_CHANGE_RETENTION_OFFSETS, type PartitionClaim, type PartitionCommit } from '@flux/core';
import type { ScriptArgument } from './lua-script.js';
import { partitionKeys } from './redis-keys.js';

/**
 * Log offsets each partition's change stream reaches back by default (approximately: whole
 * stream nodes are trimmed at a time), so it holds at most this many summaries and change
 * records plus one commit's.
 */
export const CHANGE_STREAM_MAX_OFFSETS = DEFAULT_CHANGE_RETENTION_OFFSETS;

export interface EncodedCommit {
  readonly keys: readonly string[];
  readonly args: readonly ScriptArgument[];
}

const requireInteger = (value: number, what: string): void => {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a safe integer, got ${value}`);
};

/**
 * Builds the KEYS and ARGV of the commit script (see lua/commit-partition.lua for the layout).
 * Everything that could make the script fail half-way (a non-integer delta for HINCRBY, a value
 * JSON cannot encode, a negative offset for a stream id) is rejected here, before Redis sees it.
 *
 * Change records: the commit carries upserts and deletes, not the reducer's per-event
 * ChangeRecords, so each entity the commit touches becomes one compact summary (kind, id, the
 * offset of its last event in the commit, version, the properties it removed): enough for a
 * subscriber that resumes from a position to learn which entities changed after it, re-read
 * them, and drop what it knew that is gone. An entity deleted and re-created within the commit
 * gets a delete summary (at its tombstone) before its upsert. A commit's summaries are one
 * stream entry (see encodeChanges), so the script makes one XADD per commit, not one per
 * entity. The same entry holds the commit's ChangeRecords when the reducer passes them, which
 * a subscriber resuming from a position replays one by one (RedisStateStore.replayAfter).
 */
export function encodeCommit(
  prefix: string,
  claim: PartitionClaim,
  commit: PartitionCommit,
  retentionOffsets: number = CHANGE_STREAM_MAX_OFFSETS,
): EncodedCommit {
  requireInteger(claim.epoch, 'claim epoch');
  requireInteger(commit.lastOffset, 'lastOffset');
  if (commit.lastOffset < 0) throw new RangeError(`lastOffset must not be negative, got ${commit.lastOffset}`);
  requireInteger(commit.eventsApplied, 'eventsApplied');
  const keys = partitionKeys(prefix, claim.partition);

  const upserts: string[] = [];
  for (const { id, entity } of commit.upserts) upserts.push(id, encodeEntity(entity));

  const counts: ScriptArgument[] = [];
  let countEntries = 0;
  for (const [key, delta] of Object.entries(commit.countDeltas)) {
    requireInteger(delta, `count delta of ${JSON.stringify(key)}`);
    if (delta === 0) continue;
    counts.push(key, String(delta));
    countEntries++;
  }

  // History grouped per entity (one list key each), in log order within the entity.
  const historyByEntity = new Map<string, { offset: number; json: string }[]>();
  const lastEventOffset = new Map<string, number>();
  const trails = new Map<string, Trail>();
  for (const { entityId, offset, stored, encodedEvent } of commit.history) {
    requireInteger(offset, 'history offset');
    let entries = historyByEntity.get(entityId);
    if (entries === undefined) historyByEntity.set(entityId, (entries = []));
    // The reducer passes the log record's value: the event's JSON is spliced in, not re-encoded.
    entries.push({ offset, json: encodeStoredEvent(stored, encodedEvent) });
    // A rejected event (its condition failed) is recorded but changed nothing.
    if (stored.rejected !== undefined) continue;
    lastEventOffset.set(entityId, Math.max(offset, lastEventOffset.get(entityId) ?? offset));
    followTrail(trails, entityId, offset, stored);
  }
  const historyKeys: string[] = [];
  const historySizes: string[] = [];
  const historyJson: string[] = [];
  for (const [entityId, entries] of historyByEntity) {
    entries.sort((a, b) => a.offset - b.offset); // stable: equal offsets keep their order
    historyKeys.push(keys.history(entityId));
    historySizes.push(String(entries.length));
    for (const entry of entries) historyJson.push(entry.json);
  }

  // Change summaries, in the order of the entities' last events.
  const changed: Changed[] = [];
  const deleted = new Set(commit.deletes);
  const upserted = new Set<string>();
  for (const { id, entity } of commit.upserts) {
    upserted.add(id);
    const trail = trails.get(id);
    if (trail?.tombstone !== undefined) changed.push({ kind: 'delete', id, offset: trail.tombstone, version: 0 });
    const removed = trail?.removed === undefined ? [] : [...trail.removed].filter((name) => !Object.hasOwn(entity.properties, name));
    changed.push({ kind: 'upsert', id, offset: lastEventOffset.get(id) ?? commit.lastOffset, version: entity.version, removed });
  }
  for (const id of deleted) {
    if (!upserted.has(id)) changed.push({ kind: 'delete', id, offset: lastEventOffset.get(id) ?? commit.lastOffset, version: 0 });
  }
  changed.sort((a, b) => a.offset - b.offset);

  const expirySets: string[] = [];
  const expiryRemovals: string[] = [];
  for (const { id, next } of commit.expiries ?? []) {
    if (next === undefined) {
      expiryRemovals.push(id);
    } else {
      requireInteger(next, `expiry of ${JSON.stringify(id)}`);
      expirySets.push(String(next), id);
    }
  }

  return {
    keys: [keys.meta, keys.entities, keys.ids, keys.counts, keys.changes, keys.expiries, ...historyKeys],
    args: [
      String(claim.epoch),
      String(commit.lastOffset),
      String(commit.eventsApplied),
      String(HISTORY_MAX_PER_ENTITY),
      String(Math.max(0, commit.lastOffset - retentionOffsets)),
      String(commit.deletes.length),
      String(commit.upserts.length),
      String(countEntries),
      changed.length === 0 ? '' : encodeChanges(changed),
      // No retention: no records (a replay then finds the entries without them incomplete).
      retentionOffsets === 0 || commit.changes === undefined || commit.changes.length === 0 ? '' : JSON.stringify(commit.changes),
      String(expirySets.length / 2),
      String(expiryRemovals.length),
      ...commit.deletes,
      ...upserts,
      ...counts,
      ...historySizes,
      ...historyJson,
      ...expirySets,
      ...expiryRemovals,
    ],
  };
}

/**
 * One change summary as the stream keeps it: [kind, entity id, offset], and for upserts the
 * version and, when there are any, the properties the commit removed that the entity lacks.
 */
export type EncodedChange =
  readonly ['u', string, number, number] | readonly ['u', string, number, number, readonly string[]] | readonly ['d', string, number];

interface Changed {
  readonly kind: 'upsert' | 'delete';
  readonly id: string;
  readonly offset: number;
  readonly version: number;
  readonly removed?: readonly string[];
}

/** What a commit's events did to one entity besides setting properties. */
interface Trail {
  /** Offset of its last tombstone in the commit. */
  tombstone?: number;
  /** Properties set to null since that tombstone (or since the commit's start). */
  removed?: Set<string>;
}

function followTrail(trails: Map<string, Trail>, entityId: string, offset: number, stored: StoredEvent): void {
  if (isTombstone(stored.event)) {
    // What was removed before the tombstone no longer matters: the entity starts afresh.
    trails.set(entityId, { tombstone: offset });
    return;
  }
  // Most events remove nothing: no trail is made for them.
  const properties = stored.event.payload.properties;
  for (const name of Object.keys(properties)) {
    if (properties[name] !== null) continue;
    let trail = trails.get(entityId);
    if (trail === undefined) trails.set(entityId, (trail = {}));
    (trail.removed ??= new Set()).add(name);
  }
}

function encodeChanges(changed: readonly Changed[]): string {
  return JSON.stringify(
    changed.map(({ kind, id, offset, version, removed }): EncodedChange => {
      if (kind === 'delete') return ['d', id, offset];
      return removed === undefined || removed.length === 0 ? ['u', id, offset, version] : ['u', id, offset, version, removed];
    }),
  );
}
