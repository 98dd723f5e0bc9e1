import { PositionCursor } from './position-cursor.js';
import {
  parseServerMessage,
  type PrefixSubscriptionMessage,
  type PrefixWatchMessage,
  type ServerMessage,
  type WatchMessage,
} from './watch-messages.js';
import type { WebSocketFactory, WebSocketLike } from './websocket-loader.js';

export interface BackoffOptions {
  /** Wait before the first reconnection attempt (default 250 ms). */
  readonly initialMs?: number;
  /** Longest wait between attempts (default 10 s). */
  readonly maxMs?: number;
  /** Growth per failed attempt (default 2). */
  readonly factor?: number;
}

export interface WatchOptions {
  /** Entities to follow. With neither ids nor prefix, every entity. */
  readonly ids?: readonly string[];
  /**
   * Entities whose id starts with this: the server sends only those, and on reconnection the
   * watch resumes from the last position it delivered (`since`), so no update is lost and none
   * comes twice; when the server no longer keeps that far back (resync_required) it takes a
   * snapshot instead. A server that refuses the prefix (subscription_error) streams everything
   * and the client filters.
   */
  readonly prefix?: string;
  /** With `prefix`: first an `entity_snapshot` of every entity of the prefix, then changes. */
  readonly snapshot?: boolean;
  /** With `prefix`: replay every change after these positions (a `subscribed` message's `since`), then go live. */
  readonly since?: string | readonly string[];
  /** With `prefix`: passed to the server as the subscription's filter. */
  readonly filter?: unknown;
  /** Aborting it ends the watch like close(). */
  readonly signal?: AbortSignal;
  readonly backoff?: BackoffOptions;
  /** Deliver metrics_update messages (default true). */
  readonly metrics?: boolean;
  /**
   * Messages held for a consumer that does not keep up, past which they are dropped and the
   * connection is renewed (announced by `connection` messages), so memory stays bounded.
   */
  readonly maxQueued?: number;
}

/**
 * A live subscription: iterate it with `for await`; `close()` (or `break`) ends it. A watch
 * with a `prefix` also yields the prefix subscription's messages (PrefixWatchMessage).
 */
export interface Watch<Message = WatchMessage> extends AsyncIterableIterator<Message> {
  close(): void;
}

const DEFAULT_BACKOFF = { initialMs: 250, maxMs: 10_000, factor: 2 } as const;
const DEFAULT_MAX_QUEUED = 10_000;
/** Close code the client uses when it drops a backlog (4000-4999: private use). */
const OVERFLOW_CLOSE_CODE = 4000;
const ALL_ENTITIES = '*';

/** Exponential backoff with jitter (half to full delay), so clients do not reconnect in step. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { initialMs, maxMs, factor } = { ...DEFAULT_BACKOFF, ...options };
  const full = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt - 1));
  return Math.round(full / 2 + (Math.random() * full) / 2);
}

/**
 * Closes a socket the watch no longer listens to. Closing one still connecting is reported as
 * an error event (by `ws`, as an exception when nobody listens), which is expected here.
 */
function closeQuietly(socket: WebSocketLike): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  socket.onerror = () => undefined;
  socket.close(1000, 'watch closed');
}

type Pending = { resolve: (result: IteratorResult<PrefixWatchMessage>) => void; reject: (error: unknown) => void };
type Received = ServerMessage | PrefixSubscriptionMessage;

/**
 * A WebSocket subscription that survives its connections: each time a connection ends it
 * reconnects after a backoff and subscribes again, until closed.
 */
export class WatchStream implements Watch<PrefixWatchMessage> {
  private readonly queue: PrefixWatchMessage[] = [];
  private pending: Pending | undefined;
  private socket: WebSocketLike | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private failure: unknown;
  private everOpened = false;
  private attempt = 0;
  private dropReason: string | undefined;
  private readonly ids: ReadonlySet<string> | undefined;
  /** Prefix watches: the positions delivered so far, and whether they are complete enough to resume from. */
  private readonly cursor = new PositionCursor();
  private resumable: boolean;
  private snapshotNext: boolean;
  /** False once the server refused the prefix subscription: then the client filters. */
  private serverPrefix: boolean;
  /** Whether the server took this connection's prefix subscription (`subscribing`): frames before it are the firehose's. */
  private prefixTaken = false;
  private readonly onAbort = (): void => this.close();

  constructor(
    private readonly url: string,
    private readonly factory: Promise<WebSocketFactory>,
    private readonly options: WatchOptions = {},
  ) {
    this.ids = options.ids === undefined || options.ids.length === 0 ? undefined : new Set(options.ids);
    this.serverPrefix = options.prefix !== undefined;
    this.resumable = options.since !== undefined;
    this.snapshotNext = options.snapshot === true;
    if (options.since !== undefined) this.cursor.reset(typeof options.since === 'string' ? [options.since] : options.since);
    if (options.signal?.aborted === true) {
      this.closed = true;
      return;
    }
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    void this.connect();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<PrefixWatchMessage>> {
    const message = this.queue.shift();
    if (message !== undefined) {
      this.delivered(message);
      return Promise.resolve({ value: message, done: false });
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<PrefixWatchMessage>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    clearTimeout(this.timer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    if (this.socket !== undefined) closeQuietly(this.socket);
    this.socket = undefined;
    this.settle({ value: undefined, done: true });
  }

  private async connect(): Promise<void> {
    let socket: WebSocketLike;
    try {
      socket = (await this.factory)(this.url);
    } catch (error) {
      // No WebSocket implementation or an invalid URL: retrying cannot help.
      this.fail(error);
      return;
    }
    if (this.closed) {
      closeQuietly(socket);
      return;
    }
    this.socket = socket;
    socket.onopen = () => this.announceOpen(socket);
    socket.onmessage = (event) => this.received(socket, event.data);
    socket.onclose = (event) => this.ended(socket, event.reason === '' ? `closed (${event.code})` : `closed (${event.code}: ${event.reason})`);
    // An error is followed by close, which reconnects.
    socket.onerror = () => undefined;
  }

  private subscriptions(): string[] {
    if (this.options.prefix !== undefined || this.ids === undefined) return [ALL_ENTITIES];
    return [...this.ids];
  }

  private subscribePrefix(socket: WebSocketLike, prefix: string): void {
    const { filter } = this.options;
    const from = this.resumable ? { since: this.cursor.tokens() } : this.snapshotNext ? { snapshot: true } : {};
    socket.send(JSON.stringify({ type: 'subscribe', prefix, ...from, ...(filter === undefined ? {} : { filter }) }));
  }

  private announceOpen(socket: WebSocketLike): void {
    if (socket !== this.socket) return;
    const { prefix } = this.options;
    const resuming = this.everOpened && prefix !== undefined && this.serverPrefix && this.resumable;
    this.prefixTaken = false;
    if (prefix !== undefined && this.serverPrefix) this.subscribePrefix(socket, prefix);
    else for (const id of this.subscriptions()) socket.send(JSON.stringify({ type: 'subscribe', entity_id: id }));
    this.attempt = 0;
    // `resuming` only on prefix watches: other watches' messages stay as they were.
    this.push({ type: 'connection', state: 'open', reconnected: this.everOpened, ...(this.everOpened && prefix !== undefined ? { resuming } : {}) });
    this.everOpened = true;
  }

  private received(socket: WebSocketLike, data: unknown): void {
    // After an overflow the rest of this connection's frames are dropped too, until it closes.
    if (socket !== this.socket || this.dropReason !== undefined) return;
    const message = parseServerMessage(data);
    if (message === undefined || !this.wanted(message)) return;
    this.steer(socket, message);
    if (this.queue.length >= (this.options.maxQueued ?? DEFAULT_MAX_QUEUED)) {
      this.queue.length = 0;
      this.dropReason = 'the consumer did not keep up; queued updates were dropped';
      socket.close(OVERFLOW_CLOSE_CODE, 'client queue overflow');
      return;
    }
    this.push(message);
  }

  /** Prefix watches: a resync takes a snapshot at once; a refused prefix falls back to every update. */
  private steer(socket: WebSocketLike, message: Received): void {
    const { prefix } = this.options;
    if (prefix === undefined || !('prefix' in message) || message.prefix !== prefix) return;
    if (message.type === 'subscribing') {
      this.prefixTaken = true;
    } else if (message.type === 'resync_required') {
      // What is queued before it is still delivered, but no position is resumed from until the
      // snapshot's `subscribed` arrives.
      this.resumable = false;
      this.snapshotNext = true;
      this.subscribePrefix(socket, prefix);
    } else if (message.type === 'subscription_error' && this.serverPrefix) {
      this.serverPrefix = false;
      this.resumable = false;
      socket.send(JSON.stringify({ type: 'subscribe', entity_id: ALL_ENTITIES }));
    }
  }

  /** Called as the consumer receives each message: the cursor covers what it has seen. */
  private delivered(message: PrefixWatchMessage): void {
    if (this.options.prefix === undefined || !this.serverPrefix) return;
    if (message.type === 'state_update' || message.type === 'entity_deleted') {
      this.cursor.note(message.position);
    } else if (message.type === 'subscribed' && message.prefix === this.options.prefix) {
      this.cursor.reset(message.since);
      this.resumable = true;
    }
  }

  /**
   * Before the subscribe frames arrive a connection gets every update, and a prefix watch
   * subscribes to all: the client keeps what was asked for.
   */
  private wanted(message: Received): boolean {
    if (message.type === 'metrics_update') return this.options.metrics !== false;
    const { prefix } = this.options;
    if ('prefix' in message) return message.prefix === prefix;
    if (this.ids === undefined && prefix === undefined) return true;
    // A prefix the server follows: updates before it took the subscription are the firehose's,
    // which the subscription's replay or snapshot repeats.
    if (prefix !== undefined && this.serverPrefix && !this.prefixTaken) return false;
    return this.ids?.has(message.entity_id) === true || (prefix !== undefined && message.entity_id.startsWith(prefix));
  }

  private ended(socket: WebSocketLike, reason: string): void {
    if (socket !== this.socket || this.closed) return;
    this.socket = undefined;
    this.attempt += 1;
    const delayMs = backoffDelay(this.attempt, this.options.backoff);
    this.push({ type: 'connection', state: 'reconnecting', attempt: this.attempt, delayMs, reason: this.dropReason ?? reason });
    this.dropReason = undefined;
    this.timer = setTimeout(() => void this.connect(), delayMs);
  }

  private push(message: PrefixWatchMessage): void {
    if (this.closed) return;
    if (this.pending !== undefined) {
      this.delivered(message);
      this.settle({ value: message, done: false });
    } else {
      this.queue.push(message);
    }
  }

  private settle(result: IteratorResult<PrefixWatchMessage>): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(result);
  }

  private fail(error: unknown): void {
    this.failure = error;
    this.closed = true;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }
}
