import type { WebSocket } from 'ws';
import { encodePosition, entityIdProblem, type EntitySnapshot, type FeedRecord } from '@flux/domain';

/** Wildcard subscription: every entity. */
export const ALL_ENTITIES = '*';
/**
 * Close code for connections whose updates can no longer be made good (a ChangeGap): the
 * client reconnects and reads again. 1013 is "try again later".
 */
export const MISSED_UPDATES_CLOSE_CODE = 1013;
/** Subscriptions one connection may hold; further subscribe messages are ignored. */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 10_000;
/**
 * Time the hub sends for before yielding to the event loop: one event with thousands of
 * properties fanned out to hundreds of connections would otherwise block every request for
 * seconds (a send costs from a few µs to tens of µs when it reaches the kernel).
 */
const TURN_BUDGET_MS = 2;
/** Sends between two reads of the clock (a send costs a few µs, so a turn overshoots little). */
const CLOCK_EVERY_STEPS = 16;
/**
 * Fan-out jobs waiting past which the hub stops yielding: when clients ask for more than the
 * process can send, sending at once (as a hub without yields would) keeps the queue bounded.
 */
const MAX_QUEUED_JOBS = 10_000;

/** What a subscribe or unsubscribe may name: an entity id as the HTTP API accepts it, or "*". */
export const isSubscribableId = (id: string): boolean => id === ALL_ENTITIES || entityIdProblem(id) === undefined;

interface Connection {
  readonly socket: WebSocket;
  readonly subscriptions: Set<string>;
  /** UTF-16 bytes of the ids in `subscriptions`. */
  subscriptionBytes: number;
  /** Once a client subscribed it never returns to the firehose, even after unsubscribing from everything. */
  hasSubscribed: boolean;
}

export interface WebSocketHubOptions {
  /** Unsent bytes above which a client is cut off as a slow consumer. */
  readonly maxBufferedBytes: number;
  /** Bytes of subscription ids one connection may hold; subscribes past it are ignored. */
  readonly maxSubscriptionBytes: number;
  readonly onSlowConsumer?: () => void;
  readonly onConnectionCount?: (count: number) => void;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const encode = (message: object): Buffer => Buffer.from(JSON.stringify(message), 'utf8');
/** What an id costs in memory (JavaScript strings hold UTF-16 code units). */
const idBytes = (id: string): number => id.length * 2;

/** Fan-out work, done a step (one frame to one connection) at a time. */
type FanOutJob = Iterator<void, void>;

/**
 * Fans applied changes out to WebSocket clients. Each message is serialised once and the
 * same bytes go to every recipient; recipients are found through a subscription index
 * rather than by asking every connection. Every message goes through one FIFO of jobs, so
 * each connection receives them in order even when a large fan-out is spread over several
 * turns of the event loop.
 */
export class WebSocketHub {
  private readonly connections = new Set<Connection>();
  /** Connections that never subscribed, plus those subscribed to "*". */
  private readonly everything = new Set<Connection>();
  private readonly byEntity = new Map<string, Set<Connection>>();
  private readonly jobs: FanOutJob[] = [];
  private draining = false;

  constructor(private readonly options: WebSocketHubOptions) {}

  get size(): number {
    return this.connections.size;
  }

  add(socket: WebSocket): void {
    const connection: Connection = { socket, subscriptions: new Set(), subscriptionBytes: 0, hasSubscribed: false };
    this.connections.add(connection);
    this.everything.add(connection);
    this.options.onConnectionCount?.(this.connections.size);
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.handleMessage(connection, data.toString());
    });
    socket.on('close', () => this.remove(connection));
    socket.on('error', () => this.remove(connection));
  }

  publishChanges(records: readonly FeedRecord[]): void {
    if (this.connections.size === 0) return;
    this.enqueue(this.changeFrames(records));
  }

  /** Sends one message to every connection. */
  broadcast(message: object): void {
    this.enqueue(this.sendFrame(this.connections, encode(message)));
  }

  closeAll(code = 1001, reason = 'server shutting down'): void {
    this.jobs.length = 0;
    for (const connection of this.connections) connection.socket.close(code, reason);
  }

  private *changeFrames(records: readonly FeedRecord[]): Generator<void, void> {
    for (const record of records) {
      if (record.kind === 'delete') {
        yield* this.deletedFrame(record.entityId, record.timestamp, encodePosition(record));
      } else if (record.kind === 'upsert') {
        yield* this.updateFrames(record.entityId, record.changes, record.timestamp, encodePosition(record));
      } else if (record.kind === 'snapshot') {
        yield* this.snapshotFrames(record);
      } else {
        for (const connection of this.connections)
          connection.socket.close(MISSED_UPDATES_CLOSE_CODE, 'updates were missed: reconnect and read again');
      }
    }
  }

  /** `position`: the token of the change's log position (see @flux/domain position.ts). */
  private deletedFrame(entityId: string, timestamp: number, position: string): Generator<void, void> {
    return this.sendFrame(this.connections, encode({ type: 'entity_deleted', entity_id: entityId, timestamp: iso(timestamp), position }));
  }

  private *updateFrames(
    entityId: string,
    changes: Iterable<{ readonly property: string; readonly value: unknown }>,
    timestampMs: number,
    position: string,
  ): Generator<void, void> {
    const timestamp = iso(timestampMs);
    for (const { property, value } of changes) {
      // Looked up per frame: the subscribers may change while a large change is being sent.
      const subscribers = this.byEntity.get(entityId);
      if (this.everything.size === 0 && subscribers === undefined) continue;
      const frame = encode({ type: 'state_update', entity_id: entityId, property, value, timestamp, position });
      yield* this.sendFrame(this.everything, frame);
      if (subscribers !== undefined) yield* this.sendFrame(subscribers, frame, this.everything);
    }
  }

  /**
   * An entity whose changes were missed, as the messages that bring a client's picture of it up
   * to date: entity_deleted when it was deleted meanwhile (or is gone), a state_update for each
   * property it has, and one with null for each property removed meanwhile. They carry the
   * position the snapshot was read at: the state they describe reflects the log up to there.
   */
  private *snapshotFrames(snapshot: EntitySnapshot): Generator<void, void> {
    const { entityId, entity, deleted, removed, timestamp } = snapshot;
    const position = encodePosition(snapshot);
    if (deleted || entity === undefined) yield* this.deletedFrame(entityId, timestamp, position);
    if (entity === undefined) return;
    const properties = Object.entries(entity.properties).map(([property, value]) => ({ property, value }));
    if (!deleted) for (const property of removed) properties.push({ property, value: null });
    yield* this.updateFrames(entityId, properties, timestamp, position);
  }

  private enqueue(job: FanOutJob): void {
    this.jobs.push(job);
    if (!this.draining) this.drain();
  }

  /** Runs queued jobs in order until they are done or this turn's time is spent. */
  private drain(): void {
    this.draining = true;
    const deadline = performance.now() + TURN_BUDGET_MS;
    let steps = 0;
    while (this.jobs.length > 0) {
      if (this.jobs[0]!.next().done === true) {
        this.jobs.shift();
        continue;
      }
      // The clock is read every CLOCK_EVERY_STEPS sends: reading it per send would cost the
      // common small fan-out about as much as the sends themselves.
      if (++steps % CLOCK_EVERY_STEPS === 0 && performance.now() >= deadline && this.jobs.length <= MAX_QUEUED_JOBS) {
        setImmediate(() => this.drain());
        return;
      }
    }
    this.draining = false;
  }

  /**
   * Sends to each recipient not in `skip` (those already got the frame), one step per send.
   * Set iteration survives connections leaving or joining between steps.
   */
  private *sendFrame(recipients: Iterable<Connection>, frame: Buffer, skip?: ReadonlySet<Connection>): Generator<void, void> {
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
      yield;
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
    // An id no entity can have is ignored like any unknown message, and never stored.
    if (typeof entityId !== 'string' || !isSubscribableId(entityId)) return;
    if (type === 'subscribe') this.subscribe(connection, entityId);
    else if (type === 'unsubscribe') this.unsubscribe(connection, entityId);
  }

  private subscribe(connection: Connection, entityId: string): void {
    if (!connection.hasSubscribed) {
      connection.hasSubscribed = true;
      this.everything.delete(connection);
    }
    const bytes = idBytes(entityId);
    if (
      connection.subscriptions.has(entityId) ||
      connection.subscriptions.size >= MAX_SUBSCRIPTIONS_PER_CONNECTION ||
      connection.subscriptionBytes + bytes > this.options.maxSubscriptionBytes
    ) {
      return;
    }
    connection.subscriptions.add(entityId);
    connection.subscriptionBytes += bytes;
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
    connection.subscriptionBytes -= idBytes(entityId);
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
