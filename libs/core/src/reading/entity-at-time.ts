import { entityAtTime, ErrorCode, FluxError, HISTORY_MAX_PER_ENTITY, partitionFor, type StoredEntity } from '@flux/domain';
import type { StateReader } from '../ports/state-store.js';

/**
 * An entity as it was at `atMs`, rebuilt from its retained history (at most
 * HISTORY_MAX_PER_ENTITY events, so the work per read is bounded). Rejects with FLUX_NOT_FOUND
 * when the entity did not exist then, FLUX_OUTSIDE_HISTORY when its history does not reach back
 * that far.
 */
export async function readEntityAt(reader: StateReader, id: string, atMs: number, partitionCount: number): Promise<StoredEntity> {
  const [newestFirst, current] = await Promise.all([reader.history(id, { sinceMs: 0, limit: HISTORY_MAX_PER_ENTITY }), reader.getEntity(id)]);
  // At or after the newest event the answer is the current state, whatever the history holds
  // (an entity updated more often than its history keeps has no fresh start to rebuild from).
  const newest = newestFirst.find((stored) => stored.rejected === undefined);
  if (
    current !== undefined &&
    newest !== undefined &&
    newest.storedAt <= atMs &&
    current.version === newest.version &&
    current.lastUpdated === newest.storedAt
  ) {
    return current;
  }
  // A store trims an entity's history to exactly the bound: fewer entries were never trimmed.
  const complete = newestFirst.length < HISTORY_MAX_PER_ENTITY;
  const found = entityAtTime([...newestFirst].reverse(), atMs, complete, partitionFor(id, partitionCount));
  switch (found.kind) {
    case 'found':
      return found.entity;
    case 'absent':
      throw new FluxError(ErrorCode.NotFound, 'Entity not found at that time');
    case 'outside_window':
      throw new FluxError(
        ErrorCode.OutsideHistory,
        `the entity's retained history (its newest ${HISTORY_MAX_PER_ENTITY} events) does not reach back to that time`,
      );
  }
}
