import type { FluxClient } from '@flux/client';
import type { EntityPage, FluxPort, ListPageOptions } from './flux-port.js';

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

async function listPage(client: FluxClient, options: ListPageOptions): Promise<EntityPage> {
  throw new Error('todo');
}
