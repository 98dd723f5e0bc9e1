import type { WebSocket } from 'ws';
import {
  encodePosition,
  entityIdProblem,
  toEntityView,
  type ChangeRecord,
  type EntitySnapshot,
  type FeedRecord,
  type StoredEntity,
} from '@flux/domain';
import type { ChangeReplay, StateReader } from '@flux/core';
import { parsePrefixSubscribe, type FilterCompiler, type PrefixSubscribeRequest } from './prefix-subscribe-request.js';
import { PrefixSubscription, type LiveRecord } from './prefix-subscription.js';
import { compileSubscriptionFilter, TrackingFilter } from './subscription-filter.js';

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

/** Prefix subscriptions one connection may hold; further ones are refused. */
export const MAX_PREFIX_SUBSCRIPTIONS_PER_CONNECTION = 64;
/** Of those, the ones with a filter (each keeps up to FILTER_TRACKED_BYTES_MAX). */
export const MAX_FILTERED_SUBSCRIPTIONS_PER_CONNECTION = 8;
/** Entities per page of a snapshot, and changes per page of a replay. */
const SNAPSHOT_PAGE = 500;
const REPLAY_PAGE = 1000;
/**
 * Live records a prefix subscription holds while its snapshot or replay is read; past it the
 * subscription cannot be made complete and the client is told to resync.
 */
const MAX_HELD_RECORDS = 10_000;
/** How often a snapshot or replay waits for a client's backlog to shrink before sending more. */
const BACKPRESSURE_POLL_MS = 10;

/** What a subscribe or unsubscribe may name: an entity id as the HTTP API accepts it, or "*". */
export const isSubscribableId = (id: string): boolean => id === ALL_ENTITIES || entityIdProblem(id) === undefined;

interface Connection {
  readonly socket: WebSocket;
  readonly subscriptions: Set<string>;
  /** UTF-16 bytes of the ids in `subscriptions`. */
  subscriptionBytes: number;
  /** Once a client subscribed it never returns to the firehose, even after unsubscribing from everything. */
  hasSubscribed: boolean;
  /** Prefix subscriptions by prefix (no two overlap). */
  readonly prefixes: Map<string, PrefixSubscription>;
}

/** Where prefix subscriptions read snapshots and replays from. */
export interface PrefixSources {
  /** The log's partition count. */
  readonly partitionCount: number;
  readonly replay: ChangeReplay;
  readonly reader: Pick<StateReader, 'listEntities'>;
  /** Public mode: prefixes must name a namespace. */
  readonly publicMode: boolean;
  /** Compiles subscribe filters (default: the filter language of lists, see subscription-filter.ts). */
  readonly compileFilter?: FilterCompiler;
  readonly onError?: (error: unknown, prefix: string) => void;
}

export interface WebSocketHubOptions {
  /** Unsent bytes above which a client is cut off as a slow consumer. */
  readonly maxBufferedBytes: number;
  /** Bytes of subscription ids one connection may hold; subscribes past it are ignored. */
  readonly maxSubscriptionBytes: number;
  readonly onSlowConsumer?: () => void;
  readonly onConnectionCount?: (count: number) => void;
  /** Without it, prefix subscriptions are refused. */
  readonly prefixes?: PrefixSources;
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
  private readonly byPrefix = new Map<string, Set<PrefixSubscription>>();
  /** Connections with prefix subscriptions: entity_deleted reaches them only through those. */
  private readonly owners = new Map<PrefixSubscription, Connection>();
  private readonly prefixed = new Set<Connection>();
  private readonly hasPrefixes = (connection: Connection): boolean => this.prefixed.has(connection);
  private readonly jobs: FanOutJob[] = [];
  private draining = false;

  constructor(private readonly options: WebSocketHubOptions) {}

  get size(): number {
    return this.connections.size;
  }

  add(socket: WebSocket): void {
    const connection: Connection = { socket, subscriptions: new Set(), subscriptionBytes: 0, hasSubscribed: false, prefixes: new Map() };
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
      if (record.kind === 'gap') {
        for (const connection of this.connections)
          connection.socket.close(MISSED_UPDATES_CLOSE_CODE, 'updates were missed: reconnect and read again');
        continue;
      }
      // Decided when the job reaches the record, so it is ordered with a subscription's release.
      const viaPrefix = this.byPrefix.size === 0 ? undefined : this.prefixRecipients(record);
      if (record.kind === 'delete') {
        yield* this.deletedFrame(record.entityId, record.timestamp, encodePosition(record), viaPrefix);
      } else if (record.kind === 'upsert') {
        yield* this.updateFrames(record.entityId, record.changes, record.timestamp, encodePosition(record), viaPrefix);
      } else {
        yield* this.snapshotFrames(record);
        if (viaPrefix !== undefined) yield* this.sendFrame(viaPrefix, encode(wholeEntityMessage(record.entityId, record.entity, record)));
      }
    }
  }

  /** The connections whose prefix subscriptions take this record now (holding it is not taking it). */
  private prefixRecipients(record: LiveRecord): Set<Connection> | undefined {
    let recipients: Set<Connection> | undefined;
    for (const subscription of this.subscriptionsCovering(record.entityId)) {
      const verdict = subscription.receive(record);
      if (verdict === 'overflow') {
        this.resync(subscription, 'too many changes arrived while the subscription was catching up');
      } else if (verdict === 'deliver' && this.passesFilter(subscription, record)) {
        (recipients ??= new Set()).add(this.connectionOf(subscription));
      }
    }
    return recipients;
  }

  private *subscriptionsCovering(entityId: string): Generator<PrefixSubscription, void> {
    // Whichever is fewer: the distinct prefixes subscribed, or the prefixes of the id.
    if (this.byPrefix.size <= entityId.length + 1) {
      for (const [prefix, subscriptions] of this.byPrefix) if (entityId.startsWith(prefix)) yield* subscriptions;
    } else {
      for (let length = 0; length <= entityId.length; length++) {
        const subscriptions = this.byPrefix.get(entityId.slice(0, length));
        if (subscriptions !== undefined) yield* subscriptions;
      }
    }
  }

  private passesFilter(subscription: PrefixSubscription, record: LiveRecord): boolean {
    if (record.kind !== 'snapshot') return subscription.filter.matchesChange(record);
    return record.entity === undefined || subscription.filter.matchesEntity(record.entityId, record.entity);
  }

  /** `position`: the token of the change's log position (see @flux/domain position.ts). */
  private *deletedFrame(entityId: string, timestamp: number, position: string, viaPrefix?: ReadonlySet<Connection>): Generator<void, void> {
    const frame = encode({ type: 'entity_deleted', entity_id: entityId, timestamp: iso(timestamp), position });
    yield* this.sendFrame(this.connections, frame, this.hasPrefixes);
    if (viaPrefix !== undefined) yield* this.sendFrame(viaPrefix, frame);
  }

  private *updateFrames(
    entityId: string,
    changes: Iterable<{ readonly property: string; readonly value: unknown }>,
    timestampMs: number,
    position: string,
    viaPrefix?: ReadonlySet<Connection>,
  ): Generator<void, void> {
    const timestamp = iso(timestampMs);
    for (const { property, value } of changes) {
      // Looked up per frame: the subscribers may change while a large change is being sent.
      const subscribers = this.byEntity.get(entityId);
      if (this.everything.size === 0 && subscribers === undefined && viaPrefix === undefined) continue;
      const frame = encode({ type: 'state_update', entity_id: entityId, property, value, timestamp, position });
      yield* this.sendFrame(this.everything, frame);
      if (subscribers !== undefined) yield* this.sendFrame(subscribers, frame, (connection) => this.everything.has(connection));
      if (viaPrefix !== undefined)
        yield* this.sendFrame(viaPrefix, frame, (connection) => this.everything.has(connection) || subscribers?.has(connection) === true);
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
   * Sends to each recipient `skip` does not name (those that got the frame another way), one step per send.
   * Set iteration survives connections leaving or joining between steps.
   */
  private *sendFrame(recipients: Iterable<Connection>, frame: Buffer, skip?: (connection: Connection) => boolean): Generator<void, void> {
    for (const connection of recipients) {
      if (skip?.(connection) === true) continue;
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
    const { type, entity_id: entityId, prefix } = message as { type?: unknown; entity_id?: unknown; prefix?: unknown };
    if (entityId === undefined && prefix !== undefined) {
      if (type === 'subscribe') this.subscribePrefix(connection, message as Record<string, unknown>);
      else if (type === 'unsubscribe' && typeof prefix === 'string') this.unsubscribePrefix(connection, prefix);
      return;
    }
    // An id no entity can have is ignored like any unknown message, and never stored.
    if (typeof entityId !== 'string' || !isSubscribableId(entityId)) return;
    if (type === 'subscribe') this.subscribe(connection, entityId);
    else if (type === 'unsubscribe') this.unsubscribe(connection, entityId);
  }

  private leaveFirehose(connection: Connection): void {
    if (connection.hasSubscribed) return;
    connection.hasSubscribed = true;
    this.everything.delete(connection);
  }

  /**
   * `{"type":"subscribe","prefix",...}`: refused with a subscription_error when invalid, over
   * the connection's bounds, or overlapping another of its prefixes (a change would then reach
   * it twice); the same prefix again replaces the subscription.
   */
  private subscribePrefix(connection: Connection, message: Readonly<Record<string, unknown>>): void {
    const sources = this.options.prefixes;
    const refuse = (error: string): void => this.sendNow(connection, { type: 'subscription_error', prefix: message.prefix, error });
    if (sources === undefined) return refuse('prefix subscriptions are not available here');
    const request = parsePrefixSubscribe(message, {
      partitionCount: sources.partitionCount,
      publicMode: sources.publicMode,
      compileFilter: sources.compileFilter ?? compileSubscriptionFilter,
    });
    if (typeof request === 'string') return refuse(request);
    const { prefix } = request;
    this.unsubscribePrefix(connection, prefix);
    for (const other of connection.prefixes.keys()) {
      if (other.startsWith(prefix) || prefix.startsWith(other)) return refuse(`prefix overlaps "${other}", which this connection follows`);
    }
    const bytes = idBytes(prefix);
    if (connection.prefixes.size >= MAX_PREFIX_SUBSCRIPTIONS_PER_CONNECTION) {
      return refuse(`at most ${MAX_PREFIX_SUBSCRIPTIONS_PER_CONNECTION} prefix subscriptions per connection`);
    }
    if (connection.subscriptionBytes + bytes > this.options.maxSubscriptionBytes) return refuse('subscriptions of this connection are too large');
    // Each filtered subscription keeps what its filter reads of its entities (bounded per subscription).
    if (
      request.filter instanceof TrackingFilter &&
      [...connection.prefixes.values()].filter((s) => s.filter instanceof TrackingFilter).length >= MAX_FILTERED_SUBSCRIPTIONS_PER_CONNECTION
    ) {
      return refuse(`at most ${MAX_FILTERED_SUBSCRIPTIONS_PER_CONNECTION} filtered prefix subscriptions per connection`);
    }
    this.leaveFirehose(connection);
    const subscription = new PrefixSubscription(prefix, request.filter, sources.partitionCount, MAX_HELD_RECORDS);
    connection.prefixes.set(prefix, subscription);
    connection.subscriptionBytes += bytes;
    this.prefixed.add(connection);
    this.owners.set(subscription, connection);
    let set = this.byPrefix.get(prefix);
    if (set === undefined) this.byPrefix.set(prefix, (set = new Set()));
    set.add(subscription);
    // Sent at once, not through the fan-out queue: the connection has just left the firehose,
    // so every frame before this one was firehose and every frame of the prefix after it is
    // the subscription's (replay and snapshot frames do not queue either).
    connection.socket.send(encode({ type: 'subscribing', prefix }), { binary: false });
    void this.catchUp(sources, subscription, request);
  }

  private unsubscribePrefix(connection: Connection, prefix: string): void {
    const subscription = connection.prefixes.get(prefix);
    if (subscription === undefined) return;
    subscription.closed = true;
    connection.prefixes.delete(prefix);
    connection.subscriptionBytes -= idBytes(prefix);
    if (connection.prefixes.size === 0) this.prefixed.delete(connection);
    this.owners.delete(subscription);
    const set = this.byPrefix.get(prefix);
    set?.delete(subscription);
    if (set?.size === 0) this.byPrefix.delete(prefix);
  }

  private connectionOf(subscription: PrefixSubscription): Connection {
    return this.owners.get(subscription)!;
  }

  /**
   * Reads what the subscription asked for before going live (a replay from `since`, or a
   * snapshot of the prefix) while its live records are held, then releases it. Pages are read
   * one at a time, each sent before the next is read, waiting while the client's backlog is
   * large, and the event loop turns between pages.
   */
  private async catchUp(sources: PrefixSources, subscription: PrefixSubscription, request: PrefixSubscribeRequest): Promise<void> {
    const connection = this.connectionOf(subscription);
    const partitions = Array.from({ length: sources.partitionCount }, (_, partition) => partition);
    try {
      if (request.since !== undefined) {
        subscription.startAt(request.since);
        for (const partition of partitions) {
          let after: number | undefined = request.since[partition]!;
          while (after !== undefined) {
            const page = await sources.replay.replayAfter(partition, after, REPLAY_PAGE);
            if (subscription.closed) return;
            if (!page.complete) return this.resync(subscription, 'the position is older than the changes this deployment keeps');
            for (const change of page.records) {
              subscription.replayed(change);
              if (subscription.covers(change.entityId) && subscription.filter.matchesChange(change)) {
                for (const frame of changeMessages(change)) if (!(await this.sendPaced(connection, frame))) return;
              }
            }
            after = page.next;
            await turn();
          }
        }
      } else {
        subscription.startAt(await Promise.all(partitions.map((partition) => sources.replay.position(partition))));
        let after: string | undefined;
        while (request.snapshot && !subscription.closed) {
          const page = await sources.reader.listEntities({
            prefix: subscription.prefix,
            limit: SNAPSHOT_PAGE,
            ...(after === undefined ? {} : { after }),
          });
          if (subscription.closed) return;
          for (const { id, entity } of page.entities) {
            subscription.sentWhole(id, entity.position);
            if (!subscription.filter.matchesEntity(id, entity)) continue;
            if (!(await this.sendPaced(connection, encode(wholeEntityMessage(id, entity, entity.position))))) return;
          }
          if ((after = page.lastId) === undefined) break;
          await turn();
        }
      }
    } catch (error) {
      sources.onError?.(error, subscription.prefix);
      if (subscription.closed) return;
      return this.resync(subscription, 'the subscription could not be caught up: subscribe again');
    }
    if (!subscription.closed) this.enqueue(this.releaseFrames(subscription));
  }

  /**
   * Ends a subscription's catching up, in the fan-out FIFO so it is ordered with live records:
   * `subscribed` (with the positions to resume from), then the held records still due.
   */
  private *releaseFrames(subscription: PrefixSubscription): Generator<void, void> {
    if (subscription.closed) return;
    const connection = this.connectionOf(subscription);
    const since = subscription.cursor.flatMap((offset, partition) => (offset < 0 ? [] : [encodePosition({ partition, offset })]));
    const due = subscription.release();
    yield* this.sendFrame([connection], encode({ type: 'subscribed', prefix: subscription.prefix, since }));
    for (const record of due) {
      if (!this.passesFilter(subscription, record) || this.everything.has(connection) || this.byEntity.get(record.entityId)?.has(connection) === true)
        continue;
      const frames = record.kind === 'snapshot' ? [encode(wholeEntityMessage(record.entityId, record.entity, record))] : changeMessages(record);
      for (const frame of frames) yield* this.sendFrame([connection], frame);
    }
  }

  /** Tells the client its subscription cannot be made complete, and ends it. */
  private resync(subscription: PrefixSubscription, reason: string): void {
    if (subscription.closed) return;
    const connection = this.connectionOf(subscription);
    this.unsubscribePrefix(connection, subscription.prefix);
    this.enqueue(this.sendFrame([connection], encode({ type: 'resync_required', prefix: subscription.prefix, reason })));
  }

  /** A frame outside the fan-out FIFO, for messages about one connection's own requests. */
  private sendNow(connection: Connection, message: object): void {
    this.enqueue(this.sendFrame([connection], encode(message)));
  }

  /**
   * Sends one frame of a snapshot or replay, first waiting while the client's backlog is over
   * half the slow-consumer bound; false once the connection is gone.
   */
  private async sendPaced(connection: Connection, frame: Buffer): Promise<boolean> {
    const { socket } = connection;
    while (socket.readyState === socket.OPEN && socket.bufferedAmount > this.options.maxBufferedBytes / 2) {
      await new Promise((resolve) => setTimeout(resolve, BACKPRESSURE_POLL_MS));
    }
    if (socket.readyState !== socket.OPEN || !this.connections.has(connection)) return false;
    socket.send(frame, { binary: false });
    return true;
  }

  private subscribe(connection: Connection, entityId: string): void {
    this.leaveFirehose(connection);
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
    for (const prefix of [...connection.prefixes.keys()]) this.unsubscribePrefix(connection, prefix);
    for (const entityId of connection.subscriptions) {
      const set = this.byEntity.get(entityId);
      set?.delete(connection);
      if (set?.size === 0) this.byEntity.delete(entityId);
    }
    this.options.onConnectionCount?.(this.connections.size);
  }
}

/** Lets the event loop turn (timers, I/O) before a snapshot or replay reads its next page. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** `entity_snapshot`: an entity whole as it is at `position` (null when it does not exist then). */
function wholeEntityMessage(entityId: string, entity: StoredEntity | undefined, position: { partition: number; offset: number } | undefined): object {
  const view = entity === undefined ? null : toEntityView(entityId, entity);
  return { type: 'entity_snapshot', entity_id: entityId, entity: view, ...(position === undefined ? {} : { position: encodePosition(position) }) };
}

/** The frames of one change, as live subscribers receive them. */
function changeMessages(change: ChangeRecord): Buffer[] {
  const position = encodePosition(change);
  const timestamp = iso(change.timestamp);
  if (change.kind === 'delete') return [encode({ type: 'entity_deleted', entity_id: change.entityId, timestamp, position })];
  return change.changes.map(({ property, value }) =>
    encode({ type: 'state_update', entity_id: change.entityId, property, value, timestamp, position }),
  );
}
