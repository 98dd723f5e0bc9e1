import type { WebSocket } from 'ws';
import type { ChangeRecord } from '@flux/domain';

/** Wildcard subscription: every entity. */
export const ALL_ENTITIES = '*';
/** Subscriptions one connection may hold; further subscribe messages are ignored. */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 10_000;

interface Connection {
  readonly socket: WebSocket;
  readonly subscriptions: Set<string>;
  /** Once a client subscribed it never returns to the firehose, even after unsubscribing from everything. */
  hasSubscribed: boolean;
}

export interface WebSocketHubOptions {
  /** Unsent bytes above which a client is cut off as a slow consumer. */
  readonly maxBufferedBytes: number;
  readonly onSlowConsumer?: () => void;
  readonly onConnectionCount?: (count: number) => void;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Fans applied changes out to WebSocket clients. Each message is serialised once and the
 * same bytes go to every recipient; recipients are found through a subscription index
 * rather than by asking every connection.
 */
export class WebSocketHub {
  private readonly connections = new Set<Connection>();
  /** Connections that never subscribed, plus those subscribed to "*". */
  private readonly everything = new Set<Connection>();
  private readonly byEntity = new Map<string, Set<Connection>>();

  constructor(private readonly options: WebSocketHubOptions) {}

  get size(): number {
    return this.connections.size;
  }

  add(socket: WebSocket): void {
    const connection: Connection = { socket, subscriptions: new Set(), hasSubscribed: false };
    this.connections.add(connection);
    this.everything.add(connection);
    this.options.onConnectionCount?.(this.connections.size);
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.handleMessage(connection, data.toString());
    });
    socket.on('close', () => this.remove(connection));
    socket.on('error', () => this.remove(connection));
  }

  publishChanges(changes: readonly ChangeRecord[]): void {
    if (this.connections.size === 0) return;
    for (const change of changes) {
      if (change.kind === 'delete') {
        this.sendTo(this.connections, { type: 'entity_deleted', entity_id: change.entityId, timestamp: iso(change.timestamp) });
        continue;
      }
      const subscribers = this.byEntity.get(change.entityId);
      const timestamp = iso(change.timestamp);
      for (const { property, value } of change.changes) {
        const frame = Buffer.from(
          JSON.stringify({ type: 'state_update', entity_id: change.entityId, property, value, timestamp }),
          'utf8',
        );
        this.sendFrame(this.everything, frame);
        if (subscribers !== undefined) this.sendFrame(subscribers, frame, this.everything);
      }
    }
  }

  /** Sends one message to every connection. */
  broadcast(message: object): void {
    this.sendTo(this.connections, message);
  }

  closeAll(code = 1001, reason = 'server shutting down'): void {
    for (const connection of this.connections) connection.socket.close(code, reason);
  }

  private sendTo(recipients: Iterable<Connection>, message: object): void {
    this.sendFrame(recipients, Buffer.from(JSON.stringify(message), 'utf8'));
  }

  /** Sends to each recipient not in `skip` (those already got the frame). */
  private sendFrame(recipients: Iterable<Connection>, frame: Buffer, skip?: ReadonlySet<Connection>): void {
    for (const connection of recipients) {
      if (skip?.has(connection) === true) continue;
      const { socket } = connection;
      if (socket.readyState !== socket.OPEN) continue;
      if (socket.bufferedAmount > this.options.maxBufferedBytes) {
        // Closing politely would queue behind the backlog; a slow consumer is cut off at once.
        this.options.onSlowConsumer?.();
        socket.terminate();
        this.remove(connection);
        continue;
      }
      socket.send(frame, { binary: false });
    }
  }

  private handleMessage(connection: Connection, text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return; // unparseable messages are ignored; the socket stays open
    }
    if (typeof message !== 'object' || message === null) return;
    const { type, entity_id: entityId } = message as { type?: unknown; entity_id?: unknown };
    if (typeof entityId !== 'string' || entityId === '') return;
    if (type === 'subscribe') this.subscribe(connection, entityId);
    else if (type === 'unsubscribe') this.unsubscribe(connection, entityId);
  }

  private subscribe(connection: Connection, entityId: string): void {
    if (!connection.hasSubscribed) {
      connection.hasSubscribed = true;
      this.everything.delete(connection);
    }
    if (connection.subscriptions.has(entityId) || connection.subscriptions.size >= MAX_SUBSCRIPTIONS_PER_CONNECTION) return;
    connection.subscriptions.add(entityId);
    if (entityId === ALL_ENTITIES) {
      this.everything.add(connection);
      return;
    }
    let set = this.byEntity.get(entityId);
    if (set === undefined) this.byEntity.set(entityId, (set = new Set()));
    set.add(connection);
  }

  private unsubscribe(connection: Connection, entityId: string): void {
    // A connection that never subscribed stays on the firehose: there is nothing to remove.
    if (!connection.subscriptions.delete(entityId)) return;
    if (entityId === ALL_ENTITIES) {
      this.everything.delete(connection);
      return;
    }
    const set = this.byEntity.get(entityId);
    set?.delete(connection);
    if (set?.size === 0) this.byEntity.delete(entityId);
  }

  private remove(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    this.everything.delete(connection);
    for (const entityId of connection.subscriptions) {
      const set = this.byEntity.get(entityId);
      set?.delete(connection);
      if (set?.size === 0) this.byEntity.delete(entityId);
    }
    this.options.onConnectionCount?.(this.connections.size);
  }
}
