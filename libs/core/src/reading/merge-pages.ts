import type { EntityPage, EntityRecord } from '../ports/state-store.js';

/**
 * Merges pages of disjoint (or overlapping) sources, each the source's first `limit` matches in
 * UTF-8 byte order (`compareIds`) with `lastId` when it may have more, into the first `limit`
 * matches overall. Pages that stop early (a filtered scan that ran out of budget) are handled
 * too: nothing beyond the smallest `lastId` is returned, because a source that stopped there
 * may have unseen ids below the others' entries. So paging with `after` the returned `lastId`
 * neither skips nor repeats an id. Equal ids (shards sharing one store) are returned once.
 */
export function mergePages(pages: readonly EntityPage[], limit: number): EntityPage {
  // UTF-8 keys once per id, rather than per comparison.
  const keyOf = (id: string): Buffer => Buffer.from(id, 'utf8');
  let boundary: Buffer | undefined;
  for (const page of pages) {
    if (page.lastId === undefined) continue;
    const key = keyOf(page.lastId);
    if (boundary === undefined || Buffer.compare(key, boundary) < 0) boundary = key;
  }
  const merged = pages
    .flatMap((page) => page.entities.map((record) => ({ record, key: keyOf(record.id) })))
    .filter(({ key }) => boundary === undefined || Buffer.compare(key, boundary) <= 0)
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .filter((entry, index, all) => index === 0 || !all[index - 1]!.key.equals(entry.key));
  const entities: EntityRecord[] = merged.slice(0, Math.max(0, limit)).map(({ record }) => record);
  if (merged.length > entities.length) return { entities, lastId: entities[entities.length - 1]!.id };
  // Everything up to the boundary is returned: resume after it (not after the last entity,
  // which would examine again what the sources skipped up to there).
  return boundary === undefined ? { entities } : { entities, lastId: boundary.toString('utf8') };
}
