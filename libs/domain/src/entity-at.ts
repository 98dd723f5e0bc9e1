import type { StoredEntity } from './entity.js';
import { isTombstone } from './envelope.js';
import { MergeBatch } from './merge.js';
import type { StoredEvent } from './stored-event.js';

/*
 * State at a point in time, rebuilt from an entity's history (which keeps its newest
 * HISTORY_MAX_PER_ENTITY events). The state at T is the state after the events the log stored
 * at or before T (the longest prefix in log order: storage times follow log order only as far
 * as the clock does). Rebuilding needs a point where the entity started afresh: its creation
 * (version 1) or a tombstone, or a history that was never trimmed; without one the time lies
 * outside the retained window.
 */

export type EntityAtTime =
  | { readonly kind: 'found'; readonly entity: StoredEntity }
  /** The entity did not exist at that time. */
  | { readonly kind: 'absent' }
  /** The retained history does not reach back to that time. */
  | { readonly kind: 'outside_window' };

/**
 * The entity at `atMs` from its history, oldest first. `complete`: the history holds every
 * event ever applied to the entity (it was never trimmed). `partition` is the entity's log
 * partition, for the rebuilt entity's position.
 */
export function entityAtTime(history: readonly StoredEvent[], atMs: number, complete: boolean, partition: number): EntityAtTime {
  // Events recorded without effect (a failed condition) changed nothing.
  const applied: StoredEvent[] = [];
  for (const stored of history) {
    if (stored.storedAt > atMs) break;
    if (stored.rejected === undefined) applied.push(stored);
  }
  let start = -1;
  for (let i = applied.length - 1; i >= 0; i--) {
    const stored = applied[i]!;
    if (isTombstone(stored.event)) {
      start = i + 1;
      break;
    }
    if (stored.version === 1) {
      start = i;
      break;
    }
  }
  if (start < 0) {
    if (!complete) return { kind: 'outside_window' };
    start = 0;
  }
  if (start >= applied.length) return { kind: 'absent' };
  const merge = new MergeBatch();
  let entity: StoredEntity | undefined;
  for (let i = start; i < applied.length; i++) {
    const { event, storedAt, offset } = applied[i]!;
    const result = merge.apply(entity, event, storedAt, offset === undefined ? undefined : { partition, offset });
    if (result.kind === 'upsert') entity = result.entity;
  }
  return entity === undefined ? { kind: 'absent' } : { kind: 'found', entity };
}
