/**
 * The verdict of a chaos run, from what clients were told (chaos-model.ts) and what the
 * deployment holds at the end. Pure, so its rules are unit-tested.
 *
 * - lost: an acknowledged event (or delete) missing from the entity's history, or an
 *   acknowledged event that no later delete can explain missing from the final state.
 * - duplicated: an event stored twice in the history, or applied twice (`version` above the
 *   number of applied events' properties).
 * - wrong: anything else the clients could not have caused: a property no acknowledged or
 *   unknown request wrote, a rejected event applied, a value that is not the event's, an event
 *   older than an acknowledged delete surviving it, `version` below the applied events.
 * Requests with an unknown outcome may be applied once or not at all.
 */
import { propertyFor, seqOfProperty, type EntityEvidence, type EventOp } from './chaos-model.js';

export interface Finding {
  readonly entityId: string;
  readonly kind: 'lost' | 'duplicated' | 'wrong';
  readonly detail: string;
}

export interface Reconciliation {
  readonly acknowledged: number;
  readonly unknown: number;
  readonly rejected: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly wrong: number;
  /** Unknown-outcome requests that were in fact applied. */
  readonly unknownApplied: number;
  readonly findings: readonly Finding[];
}

export function reconcileEntity(evidence: EntityEvidence): Finding[] {
  const { entityId, ops, final, history } = evidence;
  const findings: Finding[] = [];
  const finding = (kind: Finding['kind'], detail: string): void => {
    findings.push({ entityId, kind, detail });
  };

  const stored = new Map<string, number>();
  for (const id of history) stored.set(id, (stored.get(id) ?? 0) + 1);
  const events = new Map<number, EventOp>();
  for (const op of ops) if (op.kind === 'event') events.set(op.seq, op);

  for (const op of ops) {
    // An acknowledged delete whose answer carried no id cannot be looked up.
    if (op.eventId === undefined) continue;
    const count = stored.get(op.eventId) ?? 0;
    const what = op.kind === 'event' ? `event s${op.seq} (${op.eventId})` : `delete ${op.eventId ?? ''}`.trim();
    if (count > 1) finding('duplicated', `${what} stored ${count} times`);
    else if (count === 0 && op.outcome === 'acked') finding('lost', `acknowledged ${what} is not in the history`);
    else if (count === 1 && op.outcome === 'rejected') finding('wrong', `rejected ${what} was stored`);
  }

  // Last acknowledged delete: every event issued before it is gone unless its outcome was
  // unknown (such a request may land after the delete).
  let lastAckedDelete = -1;
  ops.forEach((op, index) => {
    if (op.kind === 'delete' && op.outcome === 'acked') lastAckedDelete = index;
  });
  const present = new Set<number>();
  for (const [name, value] of Object.entries(final?.properties ?? {})) {
    const seq = seqOfProperty(name);
    const op = seq === undefined ? undefined : events.get(seq);
    if (seq === undefined || op === undefined) {
      finding('wrong', `property ${name} was never written`);
      continue;
    }
    present.add(seq);
    if (op.outcome === 'rejected') finding('wrong', `rejected event ${name} was applied`);
    if (value !== op.eventId) finding('wrong', `${name} is ${JSON.stringify(value)}, not ${op.eventId}`);
    const index = ops.indexOf(op);
    if (index < lastAckedDelete && op.outcome === 'acked') finding('wrong', `${name} survived an acknowledged delete issued after it`);
  }
  ops.forEach((op, index) => {
    if (op.kind !== 'event' || op.outcome !== 'acked' || index < lastAckedDelete || present.has(op.seq)) return;
    // A delete issued after the event explains its absence only if that delete may have run.
    const deletedLater = ops.slice(index + 1).some((later) => later.kind === 'delete' && later.outcome !== 'rejected');
    if (!deletedLater) finding('lost', `acknowledged event ${propertyFor(op.seq)} is not in the final state`);
  });
  if (final !== undefined) {
    if (final.version > present.size) finding('duplicated', `version ${final.version} but ${present.size} events applied since (re)creation`);
    else if (final.version < present.size) finding('wrong', `version ${final.version} below the ${present.size} events applied since (re)creation`);
  }
  return findings;
}

export function reconcile(entities: readonly EntityEvidence[]): Reconciliation {
  let acknowledged = 0;
  let unknown = 0;
  let rejected = 0;
  let unknownApplied = 0;
  const findings: Finding[] = [];
  for (const evidence of entities) {
    const stored = new Set(evidence.history);
    for (const op of evidence.ops) {
      if (op.outcome === 'acked') acknowledged += 1;
      else if (op.outcome === 'rejected') rejected += 1;
      else {
        unknown += 1;
        if (op.eventId !== undefined && stored.has(op.eventId)) unknownApplied += 1;
      }
    }
    findings.push(...reconcileEntity(evidence));
  }
  const count = (kind: Finding['kind']): number => findings.filter((finding) => finding.kind === kind).length;
  return { acknowledged, unknown, rejected, unknownApplied, lost: count('lost'), duplicated: count('duplicated'), wrong: count('wrong'), findings };
}
