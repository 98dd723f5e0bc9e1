import type { Properties } from './envelope.js';

/** An entity as the state store keeps it. */
export interface StoredEntity {
  readonly properties: Properties;
  /** Events applied since the entity was (re)created. */
  readonly version: number;
  /** Epoch milliseconds at which Flux stored the last event applied. */
  readonly lastUpdated: number;
}

/** An entity as the API returns it. */
export interface EntityView {
  readonly id: string;
  readonly properties: Properties;
  readonly lastUpdated: string;
  readonly version: number;
}

export const toEntityView = (id: string, entity: StoredEntity): EntityView => ({
  id,
  properties: entity.properties,
  lastUpdated: new Date(entity.lastUpdated).toISOString(),
  version: entity.version,
});
