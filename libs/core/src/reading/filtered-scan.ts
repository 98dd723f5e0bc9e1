import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { FILTER_SCAN_SLICE, type EntityFilter, type StoredEntity } from '@flux/domain';
import type { EntityPage, EntityRecord } from '../ports/state-store.js';

/** An entry of a store's id order; `entity` is undefined when it vanished between two reads. */
export interface ScannedEntry {
  readonly id: string;
  readonly entity: StoredEntity | undefined;
}

export interface FilteredScan {
  /** Ids strictly after this one (undefined: from the start of the range). */
  readonly after?: string;
  readonly limit: number;
  readonly filter: EntityFilter;
  /** Entries examined at most; when reached, the page ends with `lastId` the last one examined. */
  readonly budget: number;
}

/**
 * One page of a filtered list over one ordered source. `readSlice(after, count)` returns the
 * next `count` entries of the source's range strictly after `after` (fewer at its end). The
 * scan reads slice by slice, yielding to the event loop between slices, so that a selective
 * filter over many entities never holds the loop, and stops after `budget` entries: the page
 * then holds the matches found so far (maybe none) and `lastId` to resume from.
 */
export async function scanFiltered(
  readSlice: (after: string | undefined, count: number) => Promise<readonly ScannedEntry[]> | readonly ScannedEntry[],
  scan: FilteredScan,
): Promise<EntityPage> {
  const entities: EntityRecord[] = [];
  let after = scan.after;
  let examined = 0;
  for (;;) {
    const count = Math.min(FILTER_SCAN_SLICE, scan.budget - examined);
    const slice = await readSlice(after, count);
    for (const { id, entity } of slice) {
      examined++;
      if (entity !== undefined && scan.filter.matches(entity.properties, id)) {
        // A match past the limit: more remain after the page's last entity.
        if (entities.length === scan.limit) return { entities, lastId: entities[entities.length - 1]!.id };
        entities.push({ id, entity });
      }
      after = id;
    }
    if (slice.length < count) return { entities };
    if (examined >= scan.budget) return { entities, lastId: after! };
    await yieldToEventLoop();
  }
}
