import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { decodeEntity, FILTER_SCAN_SLICE, FILTER_SCAN_SLICE_CHARS, type EntityFilter } from '@flux/domain';
import type { EntityPage, EntityRecord } from '../ports/state-store.js';

const FIRST_SLICE = 32;

/** An entry of a store's id order: the entity as stored JSON, undefined when it vanished between two reads. */
export interface ScannedEntry {
  readonly id: string;
  readonly json: string | undefined;
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
 * next `count` entries of the source's range strictly after `after` (fewer only at its end).
 * The scan reads slice by slice, each sized to hold about FILTER_SCAN_SLICE_CHARS of JSON (at
 * most FILTER_SCAN_SLICE entries), and yields to the event loop between slices (and within one
 * that turns out larger), so that a selective filter over many entities never holds the loop;
 * it stops after `budget` entries: the page then holds the matches found so far (maybe none)
 * and `lastId` to resume from.
 */
export async function scanFiltered(
  readSlice: (after: string | undefined, count: number) => Promise<readonly ScannedEntry[]> | readonly ScannedEntry[],
  scan: FilteredScan,
): Promise<EntityPage> {
  const entities: EntityRecord[] = [];
  let after = scan.after;
  let examined = 0;
  // Small at first: until a slice shows how large the entities are, a slice of them could be huge.
  let sliceSize = FIRST_SLICE;
  for (;;) {
    const count = Math.min(sliceSize, scan.budget - examined);
    const slice = await readSlice(after, count);
    let decodedChars = 0;
    let sinceYield = 0;
    for (const { id, json } of slice) {
      examined++;
      after = id;
      if (json === undefined) continue;
      if (sinceYield >= FILTER_SCAN_SLICE_CHARS) {
        sinceYield = 0;
        await yieldToEventLoop();
      }
      decodedChars += json.length;
      sinceYield += json.length;
      const entity = decodeEntity(json);
      if (!scan.filter.matches(entity.properties, id)) continue;
      // A match past the limit: more remain after the page's last entity.
      if (entities.length === scan.limit) return { entities, lastId: entities[entities.length - 1]!.id };
      entities.push({ id, entity });
    }
    if (slice.length < count) return { entities };
    if (examined >= scan.budget) return { entities, lastId: after! };
    // As many entries as fit FILTER_SCAN_SLICE_CHARS at this slice's average size.
    const fitting = Math.floor((FILTER_SCAN_SLICE_CHARS * slice.length) / Math.max(1, decodedChars));
    sliceSize = Math.max(1, Math.min(FILTER_SCAN_SLICE, fitting));
    await yieldToEventLoop();
  }
}
