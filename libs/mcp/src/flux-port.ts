/**
 * What the MCP server asks of Flux: the part of @flux/client's FluxClient its tools call,
 * with the shapes the API contract gives them. Tools are written against this interface; the
 * real client satisfies it.
 */

/** A property value as Flux stores it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface Entity {
  id: string;
  properties: Record<string, JsonValue>;
  lastUpdated: string;
  version: number;
}

export interface PublishInput {
  entityId: string;
  properties: Record<string, unknown>;
  stream?: string;
  source?: string;
  timestamp?: number;
}

export interface PublishResult {
  eventId: string;
  stream: string;
}

export interface BatchItemResult {
  index: number;
  ok: boolean;
  eventId?: string;
  error?: string;
  code?: string;
}

export interface BatchResult {
  results: BatchItemResult[];
  accepted: number;
  refused: number;
}

export interface ListPageOptions {
  prefix?: string;
  namespace?: string;
  limit: number;
  cursor?: string;
}

export interface EntityPage {
  entities: Entity[];
  /** Present while more entities match. */
  nextCursor?: string;
}

export interface HistoryEvent {
  eventId: string;
  stream: string;
  source: string;
  timestamp: number;
  payload: { entity_id: string; properties: Record<string, unknown> };
}

export interface DeleteResult {
  entity_id: string;
  eventId: string;
}

/** The messages of a watch the MCP server reacts to; others are ignored. */
export type WatchMessage =
  | { type: 'state_update'; entity_id: string; property: string; value: unknown; timestamp?: string }
  | { type: 'entity_deleted'; entity_id: string; timestamp?: string }
  | { type: 'connection'; state: 'open' | 'reconnecting' }
  | { type: string };

export interface WatchStream extends AsyncIterable<WatchMessage> {
  close(): void;
}

export interface FluxPort {
  publish(input: PublishInput): Promise<PublishResult>;
  batch(events: PublishInput[]): Promise<BatchResult>;
  get(id: string): Promise<Entity | undefined>;
  listPage(options: ListPageOptions): Promise<EntityPage>;
  history(id: string, options: { limit?: number; since?: string }): Promise<HistoryEvent[]>;
  delete(id: string): Promise<DeleteResult>;
  /** Every change of the deployment, reconnecting on its own (`connection` messages say when). */
  watch(options: { signal?: AbortSignal }): WatchStream;
}
