/** A local HTTP server for the dashboard's HTTP source: `/items` is `{"data": {"items": [...]}}`. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ItemsServer {
  readonly url: string;
  /** Requests served so far. */
  readonly requests: number;
  close(): Promise<void>;
}

const ITEMS = [
  { id: 'tank-1', name: 'North tank', level: 71, ignored: true },
  { id: 'tank-2', name: 'South tank', level: 38, ignored: true },
];

export async function startItemsServer(): Promise<ItemsServer> {
  let requests = 0;
  const server = createServer((request, response) => {
    request.resume();
    if (new URL(request.url ?? '/', 'http://local').pathname !== '/items') {
      response.writeHead(404).end();
      return;
    }
    requests += 1;
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { items: ITEMS } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    get requests() {
      return requests;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
