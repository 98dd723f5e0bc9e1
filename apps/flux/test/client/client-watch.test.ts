/** @flux/client watch(): typed live messages over the WebSocket, surviving server restarts. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from '../support/deployment.js';
import { unique, waitFor } from '../support/client.js';
import { WebSocket } from 'ws';
import { FluxClient, type PrefixWatchMessage, type Watch, type WebSocketConstructor } from '@flux/client';

let deployment: Deployment;
let flux: FluxClient;

beforeAll(async () => {
  deployment = await startDeployment();
  flux = new FluxClient({ url: deployment.baseUrl });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await deployment?.dispose();
});

/** Reads messages until one satisfies `predicate`; returns it and everything read before it. */
async function readUntil(
  watch: Watch<PrefixWatchMessage>,
  predicate: (message: PrefixWatchMessage) => boolean,
  what: string,
): Promise<PrefixWatchMessage[]> {
  const seen: PrefixWatchMessage[] = [];
  for (;;) {
    const next = await watch.next();
    if (next.done === true) throw new Error(`watch ended before ${what}; saw ${JSON.stringify(seen)}`);
    seen.push(next.value);
    if (predicate(next.value)) return seen;
  }
}

/** A `ws` WebSocket class that records, per socket, the frames sent and received (what the server did). */
function recordingWebSocket(): { RecordingWebSocket: WebSocketConstructor; sockets: Array<{ sent: string[]; received: string[] }> } {
  const sockets: Array<{ sent: string[]; received: string[] }> = [];
  class RecordingWebSocket extends WebSocket {
    private readonly record = { sent: [] as string[], received: [] as string[] };
    constructor(url: string) {
      super(url);
      sockets.push(this.record);
      this.on('message', (data: Buffer) => this.record.received.push(data.toString()));
    }
    override send(data: string): void {
      this.record.sent.push(data);
      super.send(data);
    }
  }
  return { RecordingWebSocket, sockets };
}

const isOpen = (message: PrefixWatchMessage): boolean => message.type === 'connection' && message.state === 'open';
const updateOf = (id: string, property?: string) => (message: PrefixWatchMessage) =>
  message.type === 'state_update' && message.entity_id === id && (property === undefined || message.property === property);

describe('watch', () => {
  it('yields typed state_update and entity_deleted for the ids it follows, and nothing else', async () => {
    const id = unique('w-id');
    const other = unique('w-other');
    const watch = flux.watch({ ids: [id], metrics: false });
    try {
      await readUntil(watch, isOpen, 'open');
      await flux.publish({ entityId: other, properties: { x: 1 } });
      await flux.publish({ entityId: id, properties: { temperature: 21, unit: 'C' } });
      const seen = await readUntil(watch, updateOf(id, 'unit'), 'unit update');
      expect(seen).toContainEqual({
        type: 'state_update',
        entity_id: id,
        property: 'temperature',
        value: 21,
        timestamp: expect.any(String),
        position: expect.any(String),
      });
      await flux.delete(id);
      const deleted = await readUntil(watch, (message) => message.type === 'entity_deleted', 'entity_deleted');
      expect(deleted.at(-1)).toEqual({ type: 'entity_deleted', entity_id: id, timestamp: expect.any(String), position: expect.any(String) });
      const ids = [...seen, ...deleted].flatMap((message) => ('entity_id' in message ? [message.entity_id] : []));
      expect(new Set(ids)).toEqual(new Set([id]));
    } finally {
      watch.close();
    }
  });

  it('a prefix watch keeps only ids under the prefix; metrics_update arrives every 2 s', async () => {
    const prefix = `${unique('w-pre')}/`;
    const watch = flux.watch({ prefix });
    try {
      await readUntil(watch, isOpen, 'open');
      await flux.batch([
        { entityId: `${unique('w-out')}/x`, properties: { n: 0 } },
        { entityId: `${prefix}a`, properties: { n: 1 } },
      ]);
      const seen = await readUntil(watch, updateOf(`${prefix}a`), 'prefixed update');
      expect(seen.filter((message) => message.type === 'state_update').map((message) => 'entity_id' in message && message.entity_id)).toEqual([
        `${prefix}a`,
      ]);
      const metrics = (await readUntil(watch, (message) => message.type === 'metrics_update', 'metrics_update')).at(-1);
      expect(metrics).toMatchObject({
        type: 'metrics_update',
        entities: { total: expect.any(Number) },
        events: { total: expect.any(Number), rate_per_second: expect.any(Number) },
        websocket: { connections: expect.any(Number) },
        publishers: { active: expect.any(Number) },
      });
    } finally {
      watch.close();
    }
  });

  it('ends on close(), on break and on abort', async () => {
    const closed = flux.watch();
    await readUntil(closed, isOpen, 'open');
    closed.close();
    expect(await closed.next()).toEqual({ value: undefined, done: true });

    const controller = new AbortController();
    const aborted = flux.watch({ signal: controller.signal });
    const pending = aborted.next();
    controller.abort();
    // The first message may have been the open notice; the iterator then ends.
    const first = await pending;
    if (first.done !== true) expect(await aborted.next()).toEqual({ value: undefined, done: true });

    for await (const message of flux.watch()) {
      expect(message.type).toBe('connection');
      break;
    }
  });

  it('reconnects across a server restart, subscribed to the same ids', async () => {
    const id = unique('w-restart');
    const other = unique('w-firehose');
    const { RecordingWebSocket, sockets } = recordingWebSocket();
    const recording = new FluxClient({ url: deployment.baseUrl, WebSocket: RecordingWebSocket });
    const watch = recording.watch({ ids: [id], metrics: false, backoff: { initialMs: 100, maxMs: 1_000 } });
    try {
      await readUntil(watch, isOpen, 'open');
      await deployment.restart();
      const reconnecting = await readUntil(watch, isOpen, 'reopen');
      expect(reconnecting[0]).toMatchObject({ type: 'connection', state: 'reconnecting', attempt: 1 });
      expect(reconnecting.at(-1)).toEqual({ type: 'connection', state: 'open', reconnected: true });
      await flux.publish({ entityId: other, properties: { n: 1 } });
      await flux.publish({ entityId: id, properties: { after: 'restart' } });
      await readUntil(watch, updateOf(id, 'after'), 'update after restart');
      const last = sockets.at(-1)!;
      expect(sockets.length).toBeGreaterThanOrEqual(2);
      expect(last.sent).toEqual([JSON.stringify({ type: 'subscribe', entity_id: id })]);
      // The server itself filtered: the new connection is subscribed, not a firehose.
      expect(last.received.some((frame) => frame.includes(other))).toBe(false);
    } finally {
      watch.close();
    }
    // A restart of the cluster (every process, then shard claims) takes 10-20 s on a busy machine.
  }, 90_000);

  it('a consumer that does not keep up loses the backlog, not memory: the connection is renewed', async () => {
    const id = unique('w-slow');
    const { RecordingWebSocket, sockets } = recordingWebSocket();
    const client = new FluxClient({ url: deployment.baseUrl, WebSocket: RecordingWebSocket });
    const watch = client.watch({ ids: [id], metrics: false, maxQueued: 5, backoff: { initialMs: 50, maxMs: 100 } });
    try {
      await readUntil(watch, isOpen, 'open');
      await flux.publish({ entityId: id, properties: Object.fromEntries(Array.from({ length: 20 }, (_, n) => [`p${n}`, n])) });
      // Nothing is read meanwhile: wait until the server has sent more than the watch may hold.
      await waitFor(() => sockets[0]!.received.length >= 6, { what: 'six frames received' });
      const first = await watch.next();
      expect(first.value).toMatchObject({ type: 'connection', state: 'reconnecting', reason: expect.stringMatching(/did not keep up/) });
      expect(await watch.next()).toEqual({ value: { type: 'connection', state: 'open', reconnected: true }, done: false });
    } finally {
      watch.close();
    }
  });
});
