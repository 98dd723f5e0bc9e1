/**
 * A WebSocket subscriber of the chaos run: follows a set of entities, reconnects whenever its
 * connection drops (a killed server or gateway), resubscribes and rereads what it follows, and
 * keeps its picture of each entity in a SubscriberView.
 */
import WebSocket from 'ws';
import { request } from './http-outcome.js';
import { SubscriberView } from './subscriber-view.js';

/** Time for the server to register the subscriptions before the reread (there is no ack). */
const SUBSCRIBE_SETTLE_MS = 300;

export class ChaosSubscriber {
  readonly view = new SubscriberView();
  reconnects = 0;
  private socket: WebSocket | undefined;
  private stopped = false;
  private readonly follows: (entityId: string) => boolean;

  constructor(
    readonly name: string,
    private readonly baseUrl: string,
    private readonly entityIds: readonly string[],
  ) {
    const followed = new Set(entityIds);
    this.follows = (entityId) => followed.has(entityId);
  }

  /** Resolves once the first connection is subscribed and has read every entity. */
  async start(): Promise<void> {
    await this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.socket?.terminate();
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  private async connect(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.open();
        return;
      } catch {
        await new Promise((resolveWait) => setTimeout(resolveWait, 200));
      }
    }
  }

  private async open(): Promise<void> {
    const socket = new WebSocket(`${this.baseUrl.replace(/^http/, 'ws')}/api/ws`);
    await new Promise<void>((resolveOpen, rejectOpen) => {
      socket.once('open', () => resolveOpen());
      socket.once('error', rejectOpen);
    });
    this.socket = socket;
    let established = false;
    let closed = false;
    // Messages that arrive while an entity is being reread: replayed onto the read, since
    // they may describe events applied after it.
    const rereading = new Map<string, unknown[]>();
    socket.on('error', () => {});
    socket.on('message', (data) => {
      let message: unknown;
      try {
        message = JSON.parse(data.toString());
      } catch {
        return;
      }
      this.view.apply(message, this.follows);
      const entityId = (message as { entity_id?: unknown } | null)?.entity_id;
      if (typeof entityId === 'string') rereading.get(entityId)?.push(message);
    });
    socket.once('close', () => {
      closed = true;
      if (this.stopped || !established) return;
      this.reconnects += 1;
      void this.connect();
    });
    for (const entityId of this.entityIds) socket.send(JSON.stringify({ type: 'subscribe', entity_id: entityId }));
    await new Promise((resolveWait) => setTimeout(resolveWait, SUBSCRIBE_SETTLE_MS));
    for (const entityId of this.entityIds) {
      const received: unknown[] = [];
      rereading.set(entityId, received);
      const answer = await request(`${this.baseUrl}/api/state/entities/${encodeURIComponent(entityId)}`, {});
      rereading.delete(entityId);
      if ('failed' in answer || (answer.status !== 200 && answer.status !== 404)) {
        socket.terminate();
        throw new Error(`reread of ${entityId} failed`);
      }
      this.view.reset(entityId, answer.status === 200 ? (answer.body as { properties: Record<string, unknown> }).properties : undefined);
      for (const message of received) this.view.apply(message, this.follows);
    }
    if (closed) throw new Error('closed while subscribing');
    established = true;
  }
}
