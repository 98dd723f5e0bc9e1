import WebSocket from 'ws';
import { waitFor } from '@flux/core/testing';
import type { Properties } from '@flux/domain';

/** Reconnecting takes the gateway's backoff (up to 5 s) plus its catch-up. */
export const CONVERGE_MS = 20_000;

/** What a WebSocket subscriber knows of each entity, from the messages it received. */
export class Subscriber {
  readonly view = new Map<string, Map<string, unknown>>();
  readonly messages: Record<string, unknown>[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Record<string, unknown>;
      this.messages.push(message);
      const id = message.entity_id;
      if (typeof id !== 'string') return;
      if (message.type === 'entity_deleted') this.view.set(id, new Map());
      if (message.type !== 'state_update') return;
      const properties = this.view.get(id) ?? new Map<string, unknown>();
      if (message.value === null) properties.delete(message.property as string);
      else properties.set(message.property as string, message.value);
      this.view.set(id, properties);
    });
  }

  static async connect(url: string): Promise<Subscriber> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolveOpen, reject) => {
      socket.once('open', () => resolveOpen());
      socket.once('error', reject);
    });
    return new Subscriber(socket);
  }

  subscribe(entityId: string): void {
    this.socket.send(JSON.stringify({ type: 'subscribe', entity_id: entityId }));
  }

  /** Resolves once the subscriber's view of `entityId` is exactly `properties`. */
  async converges(entityId: string, properties: Properties, what: string): Promise<void> {
    try {
      await waitFor(() => this.sees(entityId, properties), { timeoutMs: CONVERGE_MS, what });
    } catch (error) {
      const seen = Object.fromEntries(this.view.get(entityId) ?? []);
      throw new Error(`${(error as Error).message}: it sees ${JSON.stringify(seen)}, not ${JSON.stringify(properties)}`);
    }
  }

  sees(entityId: string, properties: Properties): boolean {
    const seen = this.view.get(entityId) ?? new Map<string, unknown>();
    const expected = Object.entries(properties);
    return seen.size === expected.length && expected.every(([name, value]) => JSON.stringify(seen.get(name)) === JSON.stringify(value));
  }
}
