import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface Backend {
  readonly host: string;
  readonly port: number;
}

/**
 * A round-robin TCP load balancer for running the cluster on one machine (in Kubernetes a
 * Service does this). It works below HTTP, so WebSocket upgrades pass through unchanged;
 * a backend that refuses the connection is skipped, so killing a gateway loses only the
 * connections it held.
 */
export class TcpBalancer {
  private next = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly backends: readonly Backend[]) {
    this.server = createServer((client) => this.accept(client));
  }

  listen(port: number, host = '0.0.0.0'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const address = this.server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.track(client);
    client.pause();
    this.connect(client, this.next++ % this.backends.length, 0);
  }

  /**
   * Tries the backends in turn from `first`, each once: a shared counter would let concurrent
   * connections steer one another back to a backend that refused them (one gateway still
   * starting), and a connection would be dropped although another gateway was up.
   */
  private connect(client: Socket, first: number, attempt: number): void {
    if (attempt >= this.backends.length) {
      client.destroy();
      return;
    }
    const backend = this.backends[(first + attempt) % this.backends.length]!;
    const upstream = createConnection({ host: backend.host, port: backend.port });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.track(upstream);
      upstream.setNoDelay(true);
      client.setNoDelay(true);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    upstream.once('error', () => {
      if (!connected) this.connect(client, first, attempt + 1);
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }
}
