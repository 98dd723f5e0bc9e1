import type { FluxEvent } from './envelope.js';

/** Why the reducer left an event without effect, as its history entry records it. */
export interface EventRejection {
  /** The event's condition (if_version, if_absent) did not hold. */
  readonly code: 'version_conflict';
  /** The entity's version when the event was decided (0: it did not exist). */
  readonly currentVersion: number;
}

/** An event as the history keeps it: the envelope, when Flux stored it, and what applying it did. */
export interface StoredEvent {
  readonly event: FluxEvent;
  /** Epoch milliseconds at which the log stored the event. */
  readonly storedAt: number;
  /** The event's log offset (absent on entries stored before offsets were kept). */
  readonly offset?: number;
  /** The entity's version after the event (0: it deleted the entity); absent when rejected or on older entries. */
  readonly version?: number;
  /** Set when the event was recorded but changed nothing. */
  readonly rejected?: EventRejection;
}

/** The contract keeps history answers to the newest 500 events; stores keep no more per entity. */
export const HISTORY_MAX_PER_ENTITY = 500;
export const HISTORY_DEFAULT_LIMIT = 100;
export const HISTORY_DEFAULT_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Serialises an event for the log; the same bytes are what the history returns. */
export const encodeEvent = (event: FluxEvent): string => JSON.stringify(event);

/**
 * The JSON of a StoredEvent, equal to `JSON.stringify(stored)`. Given the event's log value
 * (`encodeEvent` output) it splices that in rather than serialising the event a second time.
 */
export function encodeStoredEvent(stored: StoredEvent, encodedEvent: string = encodeEvent(stored.event)): string {
  const offset = stored.offset === undefined ? '' : `,"offset":${JSON.stringify(stored.offset)}`;
  const version = stored.version === undefined ? '' : `,"version":${JSON.stringify(stored.version)}`;
  const rejected = stored.rejected === undefined ? '' : `,"rejected":${JSON.stringify(stored.rejected)}`;
  return `{"event":${encodedEvent},"storedAt":${JSON.stringify(stored.storedAt)}${offset}${version}${rejected}}`;
}

export function decodeEvent(value: string): FluxEvent {
  return JSON.parse(value) as FluxEvent;
}

/**
 * A history entry as the API returns it: the envelope, plus `rejected` when the event was
 * recorded without effect (see StoredEvent).
 */
export function historyView(stored: StoredEvent): FluxEvent | (FluxEvent & { readonly rejected: { code: string; current_version: number } }) {
  if (stored.rejected === undefined) return stored.event;
  return { ...stored.event, rejected: { code: stored.rejected.code, current_version: stored.rejected.currentVersion } };
}
