import { DELETED_PROPERTY, type FluxEvent, type Properties } from './envelope.js';
import type { LogPosition } from './change.js';
import type { StoredEntity } from './entity.js';
import { ttlAfter } from './ttl.js';

export interface PropertyChange {
  readonly property: string;
  /** The new value; null when the property was removed. */
  readonly value: unknown;
}

export type AppliedEvent =
  | {
      readonly kind: 'upsert';
      readonly entity: StoredEntity;
      readonly created: boolean;
      readonly changes: readonly PropertyChange[];
    }
  | { readonly kind: 'delete'; readonly existed: boolean };

function setOwn(target: Properties, key: string, value: unknown): void {
  // Plain assignment to "__proto__" would replace the prototype instead of storing data.
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/**
 * Applies one event to the current state of its entity (the merge rules of the contract):
 * top-level properties replace whole values, `null` removes a property, `__deleted__: true`
 * deletes the entity, and the first event after a deletion starts a fresh entity. The given
 * entity is never mutated.
 */
export function applyEvent(current: StoredEntity | undefined, event: FluxEvent, storedAt: number, position?: LogPosition): AppliedEvent {
  return new MergeBatch().apply(current, event, storedAt, position);
}

/**
 * Applies the events of one reducer batch with copy-on-write: an entity's properties are
 * copied once, the first time the batch touches it, and every later event of the batch merges
 * into that copy in place, so an event costs what it carries, not what its entity holds.
 * Entities handed in are never mutated unless adopted; the entities it returns stay owned by
 * the batch and change with its later events, so keep only the last.
 */
export class MergeBatch {
  /** Properties objects this batch created or adopted: the only ones it may write to. */
  private readonly owned = new WeakSet<Properties>();

  /**
   * Lets the batch merge into `properties` in place, without the copy: for a caller that owns
   * them and keeps no other view of them (the reducer's working set, which it forgets whole
   * when a batch fails).
   */
  adopt(properties: Properties): void {
    this.owned.add(properties);
  }

  /** `position` is where the event sits in the log: the entity keeps it as the position of its last change. */
  apply(current: StoredEntity | undefined, event: FluxEvent, storedAt: number, position?: LogPosition): AppliedEvent {
    const incoming = event.payload.properties;
    if (incoming[DELETED_PROPERTY] === true) return { kind: 'delete', existed: current !== undefined };

    const properties = this.writable(current);
    const changes: PropertyChange[] = [];
    for (const key of Object.keys(incoming)) {
      const value = incoming[key];
      if (value === null) {
        delete properties[key];
      } else {
        setOwn(properties, key, value);
      }
      changes.push({ property: key, value });
    }
    const ttl = ttlAfter(current, event, storedAt);
    return {
      kind: 'upsert',
      created: current === undefined,
      changes,
      entity: {
        properties,
        version: (current?.version ?? 0) + 1,
        lastUpdated: storedAt,
        ...(position === undefined ? {} : { position }),
        ...(ttl === undefined ? {} : { ttl }),
      },
    };
  }

  private writable(current: StoredEntity | undefined): Properties {
    if (current !== undefined && this.owned.has(current.properties)) return current.properties;
    // Object spread defines own data properties, so a "__proto__" key is copied as data.
    const properties: Properties = current === undefined ? {} : { ...current.properties };
    this.owned.add(properties);
    return properties;
  }
}
