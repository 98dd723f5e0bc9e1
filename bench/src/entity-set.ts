/**
 * A scenario's entities: `count` ids under one run-unique prefix, spread over `groups`
 * sub-prefixes (`<prefix>g<k % groups>/e<k>`). Sub-prefixes let a scenario list a slice of its
 * entities (list latency, materialisation checks) without listing everything.
 */
export class EntitySet {
  constructor(
    readonly prefix: string,
    readonly count: number,
    readonly groups: number,
  ) {
    if (count < 1 || groups < 1) throw new RangeError('an entity set needs at least one entity and one group');
  }

  groupPrefix(group: number): string {
    return `${this.prefix}g${group}/`;
  }

  id(index: number): string {
    return `${this.groupPrefix(index % this.groups)}e${index}`;
  }

  /** The index of an id of this set, or undefined for any other id. */
  indexOf(id: string): number | undefined {
    const match = /g(\d+)\/e(\d+)$/.exec(id);
    if (match === null || !id.startsWith(this.prefix)) return undefined;
    const index = Number(match[2]);
    return index < this.count && index % this.groups === Number(match[1]) ? index : undefined;
  }

  /** How many entities a group holds. */
  groupSize(group: number): number {
    return group >= this.count ? 0 : Math.floor((this.count - 1 - group) / this.groups) + 1;
  }
}

/**
 * When event i of `events` goes to entity i % count, the seq of the last event entity `index`
 * receives (events are numbered from 0); undefined when it receives none.
 */
export function finalSeq(index: number, count: number, events: number): number | undefined {
  if (index >= Math.min(count, events)) return undefined;
  return index + Math.floor((events - 1 - index) / count) * count;
}

export interface EventEnvelope {
  readonly stream: string;
  readonly source: string;
  readonly timestamp: number;
  readonly payload: { readonly entity_id: string; readonly properties: Readonly<Record<string, unknown>> };
}

export function envelope(entityId: string, properties: Readonly<Record<string, unknown>>): EventEnvelope {
  return { stream: 'bench', source: 'flux-bench', timestamp: Date.now(), payload: { entity_id: entityId, properties } };
}

/** The small event the ingest scenarios send: its sequence number and one more small value. */
export function seqEvent(set: EntitySet, seq: number): EventEnvelope {
  return envelope(set.id(seq % set.count), { seq, v: seq % 97 });
}
