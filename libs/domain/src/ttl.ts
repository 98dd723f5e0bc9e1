import type { StoredEntity } from './entity.js';
import type { FluxEvent } from './envelope.js';

/*
 * Entity ttl. An event may carry `ttl_seconds`: its entity is deleted once it has gone that long
 * without an update. The expiry is computed from the time the log stored the event (not the
 * producer's timestamp, not the reducer's clock), so every replay of the log computes the same.
 * An event without `ttl_seconds` keeps the entity's ttl and restarts it (presence: each heartbeat
 * extends it); `ttl_seconds: null` clears it; a deleted entity starts afresh without one.
 *
 * Expiry itself is a tombstone in the log: the writer of the partition finds expired entities
 * in its store's expiry index and appends a delete conditioned on the version it saw
 * (`if_version`), so an update that lands first wins and every replay decides the same.
 */

/** An entity's ttl: its length and when it runs out. */
export interface EntityTtl {
  readonly seconds: number;
  /** Epoch milliseconds: lastUpdated + seconds. */
  readonly expiresAt: number;
}

/** The ttl an entity has after `event`, stored at `storedAt`, was applied to `current` (undefined: none). */
export function ttlAfter(current: StoredEntity | undefined, event: FluxEvent, storedAt: number): EntityTtl | undefined {
  const requested = event.ttl_seconds;
  if (requested === null) return undefined;
  const seconds = requested ?? current?.ttl?.seconds;
  return seconds === undefined ? undefined : { seconds, expiresAt: storedAt + seconds * 1000 };
}

/** Source recorded on the tombstones of expired entities. */
export const TTL_SOURCE = 'flux-ttl';
