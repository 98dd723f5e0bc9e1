import type { Entity, FluxClient } from '@flux/client';
import type { EntityPage, FluxPort, ListPageOptions } from './flux-port.js';

const NEXT_CURSOR_HEADER = 'flux-next-cursor';

/** The FluxPort of a FluxClient. */
export function clientPort(client: FluxClient): FluxPort {
  return {
    publish: (input) => client.publish(input),
    batch: (events) => client.batch(events),
    get: (id) => client.get(id),
    listPage: (options) => listPage(client, options),
    history: (id, options) => client.history(id, options),
    delete: (id) => client.delete(id),
    watch: (options) => client.watch({ ...options, metrics: false }),
  };
}

/**
 * One page of `GET /api/state/entities` and its `Flux-Next-Cursor`. The client's `list()`
 * iterates over every page and keeps the cursor to itself, while an agent pages across tool
 * calls; so this asks through the client's request method (its errors, token and timeout).
 */
async function listPage(client: FluxClient, options: ListPageOptions): Promise<EntityPage> {
  const query = new URLSearchParams({ limit: String(options.limit) });
  if (options.prefix !== undefined) query.set('prefix', options.prefix);
  if (options.namespace !== undefined) query.set('namespace', options.namespace);
  if (options.cursor !== undefined) query.set('cursor', options.cursor);
  const response = await client.request<Entity[]>({ method: 'GET', path: `/api/state/entities?${query.toString()}`, token: client.token });
  const nextCursor = response.headers.get(NEXT_CURSOR_HEADER);
  return { entities: response.body, ...(nextCursor === null || nextCursor === '' ? {} : { nextCursor }) };
}
