import { compileFilter, isFluxError, type ChangeRecord, type EntityFilter, type Properties, type StoredEntity } from '@flux/domain';
import { matchEverything, type FilterCompiler, type SubscriptionFilter } from './prefix-subscribe-request.js';

/** Entities one filtered subscription keeps the filtered properties of. */
export const FILTER_TRACKED_ENTITIES_MAX = 20_000;
/** Bytes (as JSON) of the filtered properties one subscription keeps. */
export const FILTER_TRACKED_BYTES_MAX = 2 * 1_048_576;

interface Tracked {
  /** The entity reduced to the properties the filter reads. */
  readonly properties: Properties;
  bytes: number;
  matching: boolean;
}

const jsonBytes = (value: unknown): number => (JSON.stringify(value) ?? '').length;

/**
 * The state of one filtered subscription. A change carries only the properties it set, while
 * the filter judges the whole entity: so the subscription keeps, per entity of its prefix, the
 * properties the filter reads (learnt from the snapshot, then kept up to date by each change)
 * and whether the entity matched. A change is delivered when the entity matched before it or
 * matches after it, so subscribers see entities enter and leave the result; a deletion when the
 * entity matched.
 *
 * What it keeps is bounded (FILTER_TRACKED_*). Past the bound, and for an entity it never learnt
 * (one that existed before the subscription and changed before the snapshot reached it), it
 * cannot judge: it delivers, so a subscriber may see more than the filter asks, never less.
 */
export class TrackingFilter implements SubscriptionFilter {
  private readonly tracked = new Map<string, Tracked>();
  private bytes = 0;

  constructor(private readonly filter: EntityFilter) {}

  matchesEntity(id: string, entity: StoredEntity): boolean {
    const properties: Properties = {};
    for (const name of this.filter.properties) {
      if (Object.hasOwn(entity.properties, name)) properties[name] = entity.properties[name];
    }
    const matching = this.filter.matches(properties, id);
    this.track(id, properties, matching);
    return matching;
  }

  matchesChange(change: ChangeRecord): boolean {
    const { entityId: id } = change;
    const known = this.tracked.get(id);
    if (change.kind === 'delete') {
      this.forget(id);
      return known?.matching ?? true;
    }
    // Version 1: the entity was just created (or created again), so its change holds all of it.
    if (known === undefined && change.version !== 1) return true;
    const properties: Properties = change.version === 1 || known === undefined ? {} : known.properties;
    const before = change.version !== 1 && known !== undefined && known.matching;
    for (const { property, value } of change.changes) {
      if (!this.filter.properties.includes(property)) continue;
      if (value === null) delete properties[property];
      else properties[property] = value;
    }
    const matching = this.filter.matches(properties, id);
    this.track(id, properties, matching);
    return before || matching;
  }

  private track(id: string, properties: Properties, matching: boolean): void {
    const bytes = id.length + jsonBytes(properties);
    const known = this.tracked.get(id);
    if (known !== undefined) {
      this.bytes += bytes - known.bytes;
      known.bytes = bytes;
      known.matching = matching;
      return;
    }
    if (this.tracked.size >= FILTER_TRACKED_ENTITIES_MAX || this.bytes + bytes > FILTER_TRACKED_BYTES_MAX) return;
    this.tracked.set(id, { properties, bytes, matching });
    this.bytes += bytes;
  }

  private forget(id: string): void {
    const known = this.tracked.get(id);
    if (known === undefined) return;
    this.bytes -= known.bytes;
    this.tracked.delete(id);
  }
}

/**
 * Compiles a subscribe message's `filter` (the language of lists, docs/filters.md) into a
 * subscription's own TrackingFilter; no filter matches everything.
 */
export const compileSubscriptionFilter: FilterCompiler = (filter) => {
  if (filter === undefined || filter === null) return matchEverything(filter);
  if (typeof filter !== 'string') return 'must be a string in the filter language (docs/filters.md)';
  try {
    return new TrackingFilter(compileFilter(filter));
  } catch (error) {
    if (isFluxError(error)) return error.message.replace(/^filter: /, '');
    throw error;
  }
};
