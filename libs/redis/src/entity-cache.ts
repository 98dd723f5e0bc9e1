import type { StoredEntity } from '@flux/domain';

/**
 * Characters of entity JSON the reducer's cache holds at most, over all its partitions. Decoded
 * objects take a few times their JSON in heap, and a reducer pod is limited to 512 MiB.
 */
export const ENTITY_CACHE_MAX_BYTES = 16 * 1024 * 1024;

interface Cached {
  /** Undefined: the entity is known not to exist. */
  readonly entity: StoredEntity | undefined;
  readonly bytes: number;
}

/**
 * The entities a reducer has read or committed, per partition. A claimed partition has one
 * writer, so what it committed is what Redis holds until a newer claim fences it, and a fenced
 * writer's next commit is refused: whatever it computed from the cache never lands. Sparing the
 * load of every entity a batch touches (a round trip and a JSON decode per entity) is what it is
 * for. Bounded by bytes of entity JSON; the least recently stored entries go first.
 */
export class EntityCache {
  private readonly partitions = new Map<number, Map<string, Cached>>();
  private bytes = 0;

  constructor(private readonly maxBytes = ENTITY_CACHE_MAX_BYTES) {}

  /** The cached state of `id`: an entry (whose entity may be undefined: known absent) or nothing. */
  get(partition: number, id: string): Cached | undefined {
    return this.partitions.get(partition)?.get(id);
  }

  /** Records the state of `id` as Redis now holds it; `bytes` is the size of its JSON. */
  set(partition: number, id: string, entity: StoredEntity | undefined, bytes: number): void {
    let entries = this.partitions.get(partition);
    if (entries === undefined) this.partitions.set(partition, (entries = new Map()));
    const previous = entries.get(id);
    if (previous !== undefined) {
      this.bytes -= previous.bytes;
      // Re-inserted at the end: Map order is the eviction order.
      entries.delete(id);
    }
    const size = bytes + id.length;
    if (size > this.maxBytes) return;
    entries.set(id, { entity, bytes: size });
    this.bytes += size;
    this.evict();
  }

  /** Forgets a partition: after a new claim, or a commit whose outcome is not known. */
  forget(partition: number): void {
    const entries = this.partitions.get(partition);
    if (entries === undefined) return;
    for (const { bytes } of entries.values()) this.bytes -= bytes;
    this.partitions.delete(partition);
  }

  private evict(): void {
    while (this.bytes > this.maxBytes) {
      // The partition with the most entries gives up its oldest ones first.
      let largest: Map<string, Cached> | undefined;
      for (const entries of this.partitions.values()) if (largest === undefined || entries.size > largest.size) largest = entries;
      if (largest === undefined) return;
      const oldest = largest.entries().next();
      if (oldest.done === true) return;
      const [id, { bytes }] = oldest.value;
      largest.delete(id);
      this.bytes -= bytes;
    }
  }
}
