import type { LogPosition } from './change.js';
import type { Properties } from './envelope.js';
import { encodePosition } from './position.js';
import type { EntityTtl } from './ttl.js';

/** An entity as the state store keeps it. */
export interface StoredEntity {
  readonly properties: Properties;
  /** Events applied since the entity was (re)created. */
  readonly version: number;
  /** Epoch milliseconds at which Flux stored the last event applied. */
  readonly lastUpdated: number;
  /**
   * Where the last event applied sits in the log. Absent on entities stored before positions
   * were kept; their next event sets it.
   */
  readonly position?: LogPosition;
  /** Set while the entity has a ttl (see ttl.ts). */
  readonly ttl?: EntityTtl;
}

/** An entity as the API returns it. */
export interface EntityView {
  readonly id: string;
  readonly properties: Properties;
  readonly lastUpdated: string;
  readonly version: number;
  /** Position token of the last event applied (see position.ts), when known. */
  readonly position?: string;
  /** Only on entities with a ttl: its length, and when the entity expires (ISO 8601). */
  readonly ttlSeconds?: number;
  readonly expiresAt?: string;
}

const ttlView = (ttl: EntityTtl | undefined): { ttlSeconds?: number; expiresAt?: string } =>
  ttl === undefined ? {} : { ttlSeconds: ttl.seconds, expiresAt: new Date(ttl.expiresAt).toISOString() };

export const toEntityView = (id: string, entity: StoredEntity): EntityView => ({
  id,
  properties: entity.properties,
  lastUpdated: new Date(entity.lastUpdated).toISOString(),
  version: entity.version,
  ...(entity.position === undefined ? {} : { position: encodePosition(entity.position) }),
  ...ttlView(entity.ttl),
});
