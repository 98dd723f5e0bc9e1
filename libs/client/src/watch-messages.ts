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
  /** On `reconnecting`: the attempt about to be made (1, 2, ...) and the wait before it. */
  attempt?: number;
  delayMs?: number;
  /** On `reconnecting`: why the connection ended (close code and reason, or the client's own). */
  reason?: string;
}

export type ServerMessage = StateUpdateMessage | EntityDeletedMessage | MetricsUpdateMessage;
export type WatchMessage = ServerMessage | ConnectionMessage;

const SERVER_TYPES = new Set(['state_update', 'entity_deleted', 'metrics_update']);

/** A server frame as a typed message, or undefined for anything else (ignored, as the server does). */
export function parseServerMessage(data: unknown): ServerMessage | undefined {
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
  const { type, entity_id: entityId } = message as { type?: unknown; entity_id?: unknown };
  if (typeof type !== 'string' || !SERVER_TYPES.has(type)) return undefined;
  if (type !== 'metrics_update' && typeof entityId !== 'string') return undefined;
  return message as ServerMessage;
}
