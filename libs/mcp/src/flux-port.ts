import type {
  BatchResult,
  DeleteResult,
  Entity,
  EntityPage,
  HistoryEvent,
  ListPageOptions,
  PublishInput,
  PublishResult,
  Watch,
  WatchOptions,
} from '@flux/client';

/**
 * What the MCP server asks of Flux: the part of @flux/client's FluxClient its tools call (a list
 * is asked page by page: an agent pages through it across calls). Tools are
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
