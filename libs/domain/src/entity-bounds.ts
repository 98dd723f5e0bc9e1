import type { Properties } from './envelope.js';

/** The largest entity Flux keeps: property count and UTF-8 bytes of the properties' JSON. */
export interface EntityBound {
  readonly maxProperties: number;
  readonly maxBytes: number;
}

/**
 * The count is what costs (each batch copies and measures an entity property by property);
 * the bytes default stays above any single event the default body limits admit, even when an
 * admin raises the single-event limit a few MiB, so the contract's limits remain reachable.
 */
export const DEFAULT_ENTITY_BOUND: EntityBound = { maxProperties: 10_000, maxBytes: 16 * 1_048_576 };

/** Bytes one property adds inside its object's JSON: `"name":value` (commas counted apart). */
export const propertyBytes = (name: string, value: unknown): number =>
  Buffer.byteLength(JSON.stringify(name)) + 1 + Buffer.byteLength(JSON.stringify(value) ?? 'null');

/**
 * Size of an entity's properties, kept incrementally: the JSON of an object is two braces, its
 * entries and one comma between each two, so replacing one property changes the total by the
 * difference of that entry alone. Sizes of the entries an event touched are remembered, so a
 * later event of the batch costs what it carries, not what its entity holds.
 */
export class EntitySize {
  private readonly known = new Map<string, number>();

  private constructor(
    private count: number,
    private entryBytes: number,
  ) {}

  /** Measures an entity once (the only O(entity) step); undefined: no entity yet. */
  static of(properties: Properties | undefined): EntitySize {
    if (properties === undefined) return new EntitySize(0, 0);
    let bytes = 0;
    const names = Object.keys(properties);
    for (const name of names) bytes += propertyBytes(name, properties[name]);
    return new EntitySize(names.length, bytes);
  }

  get properties(): number {
    return this.count;
  }

  /** UTF-8 bytes of JSON.stringify(properties). */
  get bytes(): number {
    return 2 + this.entryBytes + Math.max(0, this.count - 1);
  }

  /**
   * The size after merging `incoming` into `current` (null removes), without changing this one;
   * `commit` makes it this one's. Only the incoming names are measured.
   */
  after(current: Properties, incoming: Properties): { properties: number; bytes: number; commit: () => void } {
    let count = this.count;
    let entryBytes = this.entryBytes;
    const updates: [string, number][] = [];
    for (const name of Object.keys(incoming)) {
      const exists = Object.prototype.hasOwnProperty.call(current, name);
      if (exists) {
        count--;
        entryBytes -= this.known.get(name) ?? propertyBytes(name, current[name]);
      }
      const value = incoming[name];
      if (value === null) {
        updates.push([name, 0]);
        continue;
      }
      const bytes = propertyBytes(name, value);
      count++;
      entryBytes += bytes;
      updates.push([name, bytes]);
    }
    return {
      properties: count,
      bytes: 2 + entryBytes + Math.max(0, count - 1),
      commit: () => {
        this.count = count;
        this.entryBytes = entryBytes;
        for (const [name, bytes] of updates) this.known.set(name, bytes);
      },
    };
  }
}

/** Which limit the properties exceed, as a message naming it, or undefined when within the bound. */
export function exceededBound(size: { properties: number; bytes: number }, bound: EntityBound): string | undefined {
  if (size.properties > bound.maxProperties) return `entity would have ${size.properties} properties, over the limit of ${bound.maxProperties}`;
  if (size.bytes > bound.maxBytes) return `entity properties would take ${size.bytes} bytes of JSON, over the limit of ${bound.maxBytes}`;
  return undefined;
}

/**
 * Which limit an event's properties exceed on their own, as the first event of a new entity:
 * such an event could never be applied, so ingest refuses it. Counting comes first, so an event
 * with far too many properties is refused without measuring the bytes of each.
 */
export function exceededByEvent(incoming: Properties, bound: EntityBound): string | undefined {
  let count = 0;
  for (const name of Object.keys(incoming)) if (incoming[name] !== null) count++;
  if (count > bound.maxProperties) return exceededBound({ properties: count, bytes: 0 }, bound);
  return exceededBound(EntitySize.of(undefined).after({}, incoming), bound);
}
