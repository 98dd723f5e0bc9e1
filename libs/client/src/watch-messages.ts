import type { JsonValue } from './types.js';

/** One property of an applied event (`value: null` when the event removed it). */
export interface StateUpdateMessage {
  type: 'state_update';
  entity_id: string;
  property: string;
  value: JsonValue;
  /** ISO 8601 UTC. */
  timestamp: string;
  /** Position token of the change in the log. */
  position?: string;
}

export interface EntityDeletedMessage {
  type: 'entity_deleted';
  entity_id: string;
  timestamp: string;
  /** Position token of the deletion in the log. */
  position?: string;
}

/** Deployment-wide figures, every 2 seconds. */
export interface MetricsUpdateMessage {
  type: 'metrics_update';
  timestamp: string;
  entities: { total: number };
  events: { total: number; rate_per_second: number };
  websocket: { connections: number };
  publishers: { active: number };
}

/** The current state of an entity of a prefix watch (a snapshot), in place of its earlier picture. */
export interface EntitySnapshotMessage {
  type: 'entity_snapshot';
  entity_id: string;
  /** Null when the entity does not exist (any more). */
  entity: { id: string; properties: Record<string, JsonValue>; version: number; lastUpdated: string; position?: string } | null;
  /** Changes of the entity at or below this position are reflected in it. */
  position?: string;
}

/**
 * The server took the prefix subscription: what follows for the prefix is the subscription's
 * (before it, a new connection receives every update).
 */
export interface SubscribingMessage {
  type: 'subscribing';
  prefix: string;
}

/** A prefix subscription is live: its snapshot or replay was sent; `since` is where it stands per partition. */
export interface SubscribedMessage {
  type: 'subscribed';
  prefix: string;
  since: string[];
}

/**
 * The prefix subscription could not be made complete (its position is older than the server
 * keeps, or it fell too far behind): the watch subscribes again with a snapshot.
 */
export interface ResyncRequiredMessage {
  type: 'resync_required';
  prefix: string;
  reason?: string;
}

/**
 * The server refused the prefix subscription (an invalid prefix or filter); a watch then falls
 * back to every update, filtered by prefix on the client.
 */
export interface SubscriptionErrorMessage {
  type: 'subscription_error';
  prefix: string;
  error: string;
}

/**
 * The client's own messages about the connection, so a UI can show its status. After an `open`
 * with `reconnected: true`, updates sent while the connection was down are lost: read again
 * what must be current.
 */
export interface ConnectionMessage {
  type: 'connection';
  state: 'open' | 'reconnecting';
  /** On `open`: true when this is not the first connection of the watch. */
  reconnected?: boolean;
  /**
   * On `open` after a reconnection: true when a prefix watch resumes from the last position it
   * saw, so no update is lost (otherwise it takes a snapshot or only follows new updates).
   */
  resuming?: boolean;
  /** On `reconnecting`: the attempt about to be made (1, 2, ...) and the wait before it. */
  attempt?: number;
  delayMs?: number;
  /** On `reconnecting`: why the connection ended (close code and reason, or the client's own). */
  reason?: string;
}

export type ServerMessage = StateUpdateMessage | EntityDeletedMessage | MetricsUpdateMessage;
/** What only a prefix watch receives, besides ServerMessage. */
export type PrefixSubscriptionMessage =
  EntitySnapshotMessage | SubscribingMessage | SubscribedMessage | ResyncRequiredMessage | SubscriptionErrorMessage;
export type WatchMessage = ServerMessage | ConnectionMessage;
/** What a watch with a `prefix` yields. */
export type PrefixWatchMessage = WatchMessage | PrefixSubscriptionMessage;

const ENTITY_TYPES = new Set(['state_update', 'entity_deleted', 'entity_snapshot']);
const PREFIX_TYPES = new Set(['subscribing', 'subscribed', 'resync_required', 'subscription_error']);

/** A server frame as a typed message, or undefined for anything else (ignored, as the server does). */
export function parseServerMessage(data: unknown): ServerMessage | PrefixSubscriptionMessage | undefined {
  // Text frames arrive as strings (browsers, and `ws` through onmessage); anything else is not Flux's.
  if (typeof data !== 'string') return undefined;
  const text = data;
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof message !== 'object' || message === null) return undefined;
  const { type, entity_id: entityId, prefix } = message as { type?: unknown; entity_id?: unknown; prefix?: unknown };
  if (typeof type !== 'string') return undefined;
  if (ENTITY_TYPES.has(type) && typeof entityId === 'string') return message as ServerMessage | EntitySnapshotMessage;
  if (PREFIX_TYPES.has(type) && typeof prefix === 'string') return message as PrefixSubscriptionMessage;
  return type === 'metrics_update' ? (message as ServerMessage) : undefined;
}
