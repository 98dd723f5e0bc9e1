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
 * Events with more names than this are measured in bulk: one JSON.stringify of the whole object
 * (native, about 2 ms for 10,000 properties) instead of two per property (about 6 ms).
 */
const BULK_NAMES = 32;

/** Bytes of an object's entries without braces and commas (`n`: its number of names). */
function entryBytesOf(properties: Properties, names: number): number {
  return names === 0 ? 0 : Buffer.byteLength(JSON.stringify(properties)) - 2 - (names - 1);
}

/**
 * Size of an entity's properties, kept incrementally: the JSON of an object is two braces, its
 * entries and one comma between each two, so replacing one property changes the total by the
 * difference of that entry alone. Sizes of the entries a small event touched are remembered, so
 * a later event of the batch costs what it carries, not what its entity holds.
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
    const names = Object.keys(properties).length;
    return new EntitySize(names, entryBytesOf(properties, names));
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
    const names = Object.keys(incoming);
    return names.length > BULK_NAMES ? this.afterBulk(current, incoming, names) : this.afterEach(current, incoming, names);
  }

  private afterEach(current: Properties, incoming: Properties, names: readonly string[]): { properties: number; bytes: number; commit: () => void } {
    let count = this.count;
    let entryBytes = this.entryBytes;
    const updates: [string, number][] = [];
    for (const name of names) {
      if (Object.prototype.hasOwnProperty.call(current, name)) {
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
    return this.outcome(count, entryBytes, () => {
      for (const [name, bytes] of updates) this.known.set(name, bytes);
    });
  }

  /** The same as afterEach, with the incoming entries and the ones they replace measured whole. */
  private afterBulk(current: Properties, incoming: Properties, names: readonly string[]): { properties: number; bytes: number; commit: () => void } {
    // No prototype: a "__proto__" name is stored as data.
    const replaced = Object.create(null) as Properties;
    let replacedNames = 0;
    let kept = 0;
    let removedBytes = 0;
    for (const name of names) {
      if (Object.prototype.hasOwnProperty.call(current, name)) {
        replaced[name] = current[name];
        replacedNames++;
      }
      if (incoming[name] === null) removedBytes += propertyBytes(name, null);
      else kept++;
    }
    const count = this.count - replacedNames + kept;
    const entryBytes = this.entryBytes - entryBytesOf(replaced, replacedNames) + entryBytesOf(incoming, names.length) - removedBytes;
    return this.outcome(count, entryBytes, () => {
      for (const name of names) this.known.delete(name);
    });
  }

  private outcome(count: number, entryBytes: number, remember: () => void): { properties: number; bytes: number; commit: () => void } {
    return {
      properties: count,
      bytes: 2 + entryBytes + Math.max(0, count - 1),
      commit: () => {
        this.count = count;
        this.entryBytes = entryBytes;
        remember();
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
  const names = Object.keys(incoming);
  let count = 0;
  let removedBytes = 0;
  for (const name of names) {
    if (incoming[name] === null) removedBytes += propertyBytes(name, null);
    else count++;
  }
  if (count > bound.maxProperties) return exceededBound({ properties: count, bytes: 0 }, bound);
  // As the first event of its entity nothing is replaced: its kept entries are all there is.
  const entryBytes = entryBytesOf(incoming, names.length) - removedBytes;
  return exceededBound({ properties: count, bytes: 2 + entryBytes + Math.max(0, count - 1) }, bound);
}
