import type { EntitySize, StoredEntity } from '@flux/domain';

/**
 * Heap the reducers of one process let their entities take, over all their partitions, as
 * `entryHeapBytes` estimates it. A reducer pod is limited to 512 MiB; the largest entity the
 * default bound admits (16 MiB of JSON) fits.
 */
export const ENTITY_WORKING_SET_MAX_BYTES = 32 * 1024 * 1024;

/** What an entry takes whatever its entity: map entry, entity, size and position objects, id (about 550 bytes). */
const ENTRY_HEAP_BYTES = 512;
/** What each property adds besides its JSON: its slot, name and value (about 40 bytes in an entity of 1,000). */
const PROPERTY_HEAP_BYTES = 48;
/** Heap per byte of the properties' JSON (strings are stored one byte per character). */
const HEAP_PER_JSON_BYTE = 1.25;

/**
 * Heap an entry of the working set takes, estimated from its size. Counting the JSON alone
 * undercounted small entities tenfold: a bound of 16 MiB of JSON held about 170k entities of
 * three properties, 130 MB of heap, and let the materialiser's heap grow to 750 MB while 1M
 * new entities streamed in. Against the heap measured for entities of 3, 8 and 1,000
 * properties, this estimate is 19% to 58% high.
 */
export function entryHeapBytes(id: string, size: EntitySize): number {
  return ENTRY_HEAP_BYTES + PROPERTY_HEAP_BYTES * size.properties + Math.ceil(HEAP_PER_JSON_BYTE * (size.bytes + id.length));
}

/** An entity as its partition's reducer last committed it, with its size kept incrementally. */
export interface WorkingEntity {
  /** Undefined: the entity is known not to exist. */
  readonly entity: StoredEntity | undefined;
  readonly size: EntitySize;
}

interface Entry extends WorkingEntity {
  readonly bytes: number;
}

/**
 * The entities the reducers of a process have loaded or committed, per partition, owned by the
 * reducers: a batch merges into them in place. A claimed partition has one writer, so what it
 * committed is what the store holds until a newer claim fences it, and a fenced writer's next
 * commit is refused: whatever it computed from here never lands.
 *
 * It is what keeps a batch's cost proportional to its events rather than to its entities: a hot
 * entity is decoded, measured and copied once, not on every batch (10,000 properties cost about
 * 4 ms to decode, 3 ms to measure and 5 ms to copy). Only the encode of each touched entity in
 * the commit stays per batch. Bounded by the heap its entries take (estimated); the least
 * recently stored entries go first.
 */
export class EntityWorkingSet {
  private readonly partitions = new Map<number, Map<string, Entry>>();
  private bytes = 0;

  constructor(private readonly maxBytes = ENTITY_WORKING_SET_MAX_BYTES) {}

  /** The committed state of `id` (whose entity may be undefined: known absent), or nothing. */
  get(partition: number, id: string): WorkingEntity | undefined {
    return this.partitions.get(partition)?.get(id);
  }

  /** Records the state of `id` as the store now holds it. */
  set(partition: number, id: string, entity: StoredEntity | undefined, size: EntitySize): void {
    let entries = this.partitions.get(partition);
    if (entries === undefined) this.partitions.set(partition, (entries = new Map()));
    const previous = entries.get(id);
    if (previous !== undefined) {
      this.bytes -= previous.bytes;
      // Re-inserted at the end: Map order is the eviction order.
      entries.delete(id);
    }
    const bytes = entryHeapBytes(id, size);
    if (bytes > this.maxBytes) return;
    entries.set(id, { entity, size, bytes });
    this.bytes += bytes;
    this.evict();
  }

  /**
   * Forgets a partition: after a new claim (an older owner may have written since), or a batch
   * that failed (its entities were merged into in place, and the commit may or may not have
   * landed).
   */
  forget(partition: number): void {
    const entries = this.partitions.get(partition);
    if (entries === undefined) return;
    for (const { bytes } of entries.values()) this.bytes -= bytes;
    this.partitions.delete(partition);
  }

  private evict(): void {
    if (this.bytes <= this.maxBytes) return;
    // Down to 7/8 of the bound at once, a run of entries per iterator: a Map iterator starts by
    // stepping over every entry deleted from the front since the map was last rehashed, so
    // taking one entry per fresh iterator made a stream of new entities quadratic (1M new
    // entities: 6 s in this method alone).
    const target = this.maxBytes - this.maxBytes / 8;
    while (this.bytes > target) {
      // The partition with the most entries gives up its oldest ones first.
      let largest: Map<string, Entry> | undefined;
      for (const entries of this.partitions.values()) if (largest === undefined || entries.size > largest.size) largest = entries;
      if (largest === undefined || largest.size === 0) return;
      let run = Math.ceil(largest.size / 8);
      for (const [id, { bytes }] of largest) {
        largest.delete(id);
        this.bytes -= bytes;
        if (--run === 0 || this.bytes <= target) break;
      }
    }
  }
}
