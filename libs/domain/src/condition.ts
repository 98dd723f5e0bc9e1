import type { StoredEntity } from './entity.js';
import type { FluxEvent } from './envelope.js';

/*
 * Conditional writes. An event may carry `if_version: n` (its entity's version must be exactly n,
 * 0 meaning the entity must not exist) or `if_absent: true`. Whether the condition holds is
 * decided by the partition's reducer when it applies the event, from the entity as it is at the
 * event's log position: the single writer of the partition sees every earlier event and none
 * later, so the decision is the same on every replay, and two agents racing for one entity are
 * ordered by the log, not by whichever gateway answered first.
 */

export type ConditionVerdict = { readonly holds: true } | { readonly holds: false; readonly currentVersion: number };

const HOLDS: ConditionVerdict = { holds: true };

/** Whether the event carries a condition (and its publisher therefore waits for the decision). */
export const isConditional = (event: FluxEvent): boolean => event.if_version !== undefined || event.if_absent === true;

/** Decides an event's condition against its entity as it stands (undefined: it does not exist). */
export function decideCondition(event: FluxEvent, current: StoredEntity | undefined): ConditionVerdict {
  const currentVersion = current?.version ?? 0;
  if (event.if_absent === true) return current === undefined ? HOLDS : { holds: false, currentVersion };
  if (event.if_version !== undefined && event.if_version !== currentVersion) return { holds: false, currentVersion };
  return HOLDS;
}
