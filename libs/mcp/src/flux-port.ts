import type { BatchResult, DeleteResult, Entity, HistoryEvent, PublishInput, PublishResult, Watch, WatchOptions } from '@flux/client';

export interface ListPageOptions {
  prefix?: string;
  namespace?: string;
  limit: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}

export interface EntityPage {
  entities: Entity[];
  /** Present while more entities match. */
  nextCursor?: string;
}

/**
 * What the MCP server asks of Flux: the part of @flux/client's FluxClient its tools call, plus
 * one page of a list with its cursor (an agent pages through a list across calls). Tools are
 * written against this interface; `clientPort` makes one of a FluxClient.
 */
export interface FluxPort {
  publish(input: PublishInput): Promise<PublishResult>;
  batch(events: readonly PublishInput[]): Promise<BatchResult>;
  get(id: string): Promise<Entity | undefined>;
  listPage(options: ListPageOptions): Promise<EntityPage>;
  history(id: string, options: { limit?: number; since?: string }): Promise<HistoryEvent[]>;
  delete(id: string): Promise<DeleteResult>;
  /** A watch of every change of the deployment (no ids, no prefix), reconnecting on its own. */
  watch(options: Pick<WatchOptions, 'signal'>): Watch;
}
