import type { FluxEvent } from './envelope.js';

/** An event as the history keeps it: the envelope and when Flux stored it. */
export interface StoredEvent {
  readonly event: FluxEvent;
  /** Epoch milliseconds at which the log stored the event. */
  readonly storedAt: number;
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
  return `{"event":${encodedEvent},"storedAt":${JSON.stringify(stored.storedAt)}}`;
}

export function decodeEvent(value: string): FluxEvent {
  return JSON.parse(value) as FluxEvent;
}
