import { HISTORY_MAX_PER_ENTITY, type StoredEntity } from '@flux/domain';
import type { PartitionClaim, PartitionCommit } from '@flux/core';
import type { ScriptArgument } from './lua-script.js';
import { partitionKeys } from './redis-keys.js';

/** Change summaries each partition's stream keeps (approximately: XADD MAXLEN ~). */
export const CHANGE_STREAM_MAX_LENGTH = 10_000;

export interface EncodedCommit {
  readonly keys: readonly string[];
  readonly args: readonly ScriptArgument[];
}

const requireInteger = (value: number, what: string): void => {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a safe integer, got ${value}`);
};

export const encodeEntity = (entity: StoredEntity): string => JSON.stringify(entity);

/**
 * Builds the KEYS and ARGV of the commit script (see lua/commit-partition.ts for the layout).
 * Everything that could make the script fail half-way (a non-integer delta for HINCRBY, a value
 * JSON cannot encode, a negative offset for a stream id) is rejected here, before Redis sees it.
 *
 * Change records: the commit carries upserts and deletes, not the reducer's per-event
 * ChangeRecords, so each entity the commit touches becomes one compact summary (kind, id, the
 * offset of its last event in the commit, version) with stream id `<lastOffset>-<n>`: enough for a
 * subscriber that resumes from a position to learn which entities changed after it and re-read
 * them, and bounded per entry.
 */
export function encodeCommit(prefix: string, claim: PartitionClaim, commit: PartitionCommit): EncodedCommit {
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
  for (const { entityId, offset, stored } of commit.history) {
    requireInteger(offset, 'history offset');
    let entries = historyByEntity.get(entityId);
    if (entries === undefined) historyByEntity.set(entityId, (entries = []));
    entries.push({ offset, json: JSON.stringify(stored) });
    lastEventOffset.set(entityId, Math.max(offset, lastEventOffset.get(entityId) ?? offset));
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
  const changed: { kind: 'upsert' | 'delete'; id: string; offset: number; version: string }[] = [];
  const deleted = new Set(commit.deletes);
  const upserted = new Set<string>();
  for (const { id, entity } of commit.upserts) {
    upserted.add(id);
    changed.push({ kind: 'upsert', id, offset: lastEventOffset.get(id) ?? commit.lastOffset, version: String(entity.version) });
  }
  for (const id of deleted) {
    if (!upserted.has(id)) changed.push({ kind: 'delete', id, offset: lastEventOffset.get(id) ?? commit.lastOffset, version: '' });
  }
  changed.sort((a, b) => a.offset - b.offset);
  const changes: string[] = [];
  changed.forEach((change, i) => {
    changes.push(`${commit.lastOffset}-${i + 1}`, change.kind, change.id, String(change.offset), change.version);
  });

  return {
    keys: [keys.meta, keys.entities, keys.ids, keys.counts, keys.changes, ...historyKeys],
    args: [
      String(claim.epoch),
      String(commit.lastOffset),
      String(commit.eventsApplied),
      String(HISTORY_MAX_PER_ENTITY),
      String(CHANGE_STREAM_MAX_LENGTH),
      String(commit.deletes.length),
      String(commit.upserts.length),
      String(countEntries),
      String(changed.length),
      ...commit.deletes,
      ...upserts,
      ...counts,
      ...historySizes,
      ...historyJson,
      ...changes,
    ],
  };
}
