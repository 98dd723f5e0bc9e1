import type { FluxClient } from '@flux/client';
import type { FluxPort } from './flux-port.js';

/** The FluxPort of a FluxClient. */
export function clientPort(client: FluxClient): FluxPort {
  return {
    publish: (input) => client.publish(input),
    batch: (events) => client.batch(events),
    get: (id) => client.get(id),
    listPage: (options) => client.listPage(options),
    history: (id, options) => client.history(id, options),
    delete: (id) => client.delete(id),
    watch: (options) => client.watch({ ...options, metrics: false }),
  };
}
