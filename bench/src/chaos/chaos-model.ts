/**
 * What the chaos client knows about every request it made: per entity, the operations in the
 * order it issued them and the outcome it saw. The client issues one operation per entity at a
 * time, so this order is the order the server saw them in, except for requests whose outcome
 * is unknown (the connection was cut), which may still land later.
 *
 * Each event sets exactly one property, `s<k>` with k unique per entity and the event's own id
 * as value: the final state then shows which events were applied since the last deletion, and
 * `version` (events applied since (re)creation) must equal the number of such properties.
 */
export type Outcome = 'acked' | 'unknown' | 'rejected';

export interface EventOp {
  readonly kind: 'event';
  /** Per-entity sequence number; the event sets property `s<seq>`. */
  readonly seq: number;
  readonly eventId: string;
  outcome: Outcome;
}

export interface DeleteOp {
  readonly kind: 'delete';
  /** The tombstone's id when the server acknowledged the delete. */
  eventId?: string;
  outcome: Outcome;
}

export type ChaosOp = EventOp | DeleteOp;

export interface EntityFinal {
  readonly properties: Readonly<Record<string, unknown>>;
  readonly version: number;
}

export interface EntityEvidence {
  readonly entityId: string;
  readonly ops: readonly ChaosOp[];
  /** GET /api/state/entities/:id at the end; undefined when 404. */
  readonly final: EntityFinal | undefined;
  /** Event ids of GET /api/events?entity=<id> (every stored event, tombstones included). */
  readonly history: readonly string[];
}

export const propertyFor = (seq: number): string => `s${seq}`;

/** `s12` → 12; undefined for any other name. */
export function seqOfProperty(name: string): number | undefined {
  const match = /^s(\d+)$/.exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
