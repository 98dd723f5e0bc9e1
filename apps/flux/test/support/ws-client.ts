/** A buffering WebSocket client for the black-box suite (the `ws` package). */
import WebSocket from 'ws';
import type { Json } from './client.js';

export type MessagePredicate = (message: Json) => boolean;

export class WsClient {
  /** Every JSON message received, in arrival order. */
  readonly messages: Json[] = [];
  /** Frames that were not JSON (the contract only sends JSON; kept for diagnostics). */
  readonly nonJson: string[] = [];
  private readonly waiters = new Set<() => void>();
  private closeInfo: { code: number; reason: string } | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      const text = isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString();
      try {
        this.messages.push(JSON.parse(text));
      } catch {
        this.nonJson.push(text);
      }
      this.notify();
    });
    socket.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      this.notify();
    });
    socket.on('error', () => {
      /* surfaced through 'close' */
    });
  }

  static async connect(url: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<WsClient> {
    const socket = new WebSocket(url, { headers, handshakeTimeout: timeoutMs });
    const client = new WsClient(socket);
    await new Promise<void>((resolveOpen, reject) => {
      socket.once('open', () => resolveOpen());
      socket.once('error', (error) => reject(error));
      socket.once('unexpected-response', (_request, response) => reject(new Error(`WebSocket upgrade refused: HTTP ${response.statusCode}`)));
    });
    return client;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  get closed(): { code: number; reason: string } | undefined {
    return this.closeInfo;
  }

  /** Index of the next message; pass it as `since` to only look at later messages. */
  mark(): number {
    return this.messages.length;
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  subscribe(entityId: string): void {
    this.send({ type: 'subscribe', entity_id: entityId });
  }

  unsubscribe(entityId: string): void {
    this.send({ type: 'unsubscribe', entity_id: entityId });
  }

  /** Messages (from index `since`) matching `predicate`. */
  matching(predicate: MessagePredicate, since = 0): Json[] {
    return this.messages.slice(since).filter(predicate);
  }

  /**
   * Resolves with the first message (from index `since`) matching `predicate`; rejects at the
   * deadline or when the socket closes first.
   */
  async waitFor(predicate: MessagePredicate, options: { timeoutMs?: number; since?: number; what?: string } = {}): Promise<Json> {
    const since = options.since ?? 0;
    const timeoutMs = options.timeoutMs ?? 10_000;
    return await new Promise<Json>((resolveMessage, reject) => {
      let scanned = since;
      const check = (): void => {
        for (; scanned < this.messages.length; scanned += 1) {
          const message = this.messages[scanned];
          if (predicate(message)) {
            finish();
            resolveMessage(message);
            return;
          }
        }
        if (this.closeInfo !== undefined) {
          finish();
          reject(
            new Error(`WebSocket closed (${this.closeInfo.code} ${this.closeInfo.reason}) before ${options.what ?? 'the expected message'} arrived`),
          );
        }
      };
      const timer = setTimeout(() => {
        finish();
        const recent = this.messages.slice(Math.max(since, this.messages.length - 5)).map((message) => JSON.stringify(message).slice(0, 300));
        reject(
          new Error(
            `no WebSocket message matching ${options.what ?? 'the predicate'} within ${timeoutMs} ms; last messages: ${recent.join(' | ') || 'none'}`,
          ),
        );
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits until `count` messages matching `predicate` arrived (from `since`); resolves with them. */
  async waitForCount(
    predicate: MessagePredicate,
    count: number,
    options: { timeoutMs?: number; since?: number; what?: string } = {},
  ): Promise<Json[]> {
    let seen = 0;
    await this.waitFor(
      (message) => {
        if (predicate(message)) seen += 1;
        return seen >= count;
      },
      { ...options, what: `${count} x ${options.what ?? 'matching messages'}` },
    );
    return this.matching(predicate, options.since ?? 0);
  }

  /**
   * For tests where absence IS the behaviour under test: waits `windowMs` and returns the
   * messages matching `predicate` that arrived from `since` (the test asserts it is empty).
   */
  async collectDuring(predicate: MessagePredicate, windowMs: number, since = this.mark()): Promise<Json[]> {
    await new Promise((resolveDelay) => setTimeout(resolveDelay, windowMs));
    return this.matching(predicate, since);
  }

  /** Stops reading from the socket (the server's sends back up); see resume(). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolveClose) => {
      const timer = setTimeout(() => {
        this.socket.terminate();
        resolveClose();
      }, 2_000);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolveClose();
      });
      this.socket.close();
    });
  }
}

export const isStateUpdate =
  (entityId: string, property?: string): MessagePredicate =>
  (message) =>
    message?.type === 'state_update' && message.entity_id === entityId && (property === undefined || message.property === property);

export const isEntityDeleted =
  (entityId: string): MessagePredicate =>
  (message) =>
    message?.type === 'entity_deleted' && message.entity_id === entityId;

export const isMetricsUpdate: MessagePredicate = (message) => message?.type === 'metrics_update';
