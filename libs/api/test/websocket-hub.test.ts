import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { encodePosition, type FeedRecord } from '@flux/domain';
import { MISSED_UPDATES_CLOSE_CODE, WebSocketHub } from '../src/websocket/websocket-hub.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

/** The part of a ws socket the hub uses, recording what it is sent. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: Record<string, unknown>[] = [];
  closed: { code: number; reason: string } | undefined;

  send(frame: Buffer): void {
    this.sent.push(JSON.parse(frame.toString('utf8')) as Record<string, unknown>);
  }

  close(code: number, reason: string): void {
    this.closed = { code, reason };
    this.readyState = 3;
  }

  subscribe(entityId: string): void {
    this.emit('message', Buffer.from(JSON.stringify({ type: 'subscribe', entity_id: entityId })), false);
  }
}

function hubWith(...sockets: FakeSocket[]): WebSocketHub {
  const hub = new WebSocketHub({ maxBufferedBytes: 1 << 20, maxSubscriptionBytes: 1 << 20 });
  for (const socket of sockets) hub.add(socket as unknown as WebSocket);
  return hub;
}

/** One connection subscribed to ns/a, another to ns/b. */
function subscribedToAAndB(): { hub: WebSocketHub; subscriber: FakeSocket; other: FakeSocket } {
  const subscriber = new FakeSocket();
  const other = new FakeSocket();
  const hub = hubWith(subscriber, other);
  subscriber.subscribe('ns/a');
  other.subscribe('ns/b');
  return { hub, subscriber, other };
}

describe('WebSocketHub and snapshots of missed changes', () => {
  it('sends an entity changed meanwhile as updates of every property it has and null for those it lost', () => {
    const { hub, subscriber, other } = subscribedToAAndB();
    const snapshot: FeedRecord = {
      kind: 'snapshot',
      partition: 0,
      offset: 9,
      entityId: 'ns/a',
      entity: { properties: { x: 1, y: 'two' }, version: 4, lastUpdated: T0 },
      deleted: false,
      removed: ['gone'],
      timestamp: T0,
    };
    hub.publishChanges([snapshot]);
    const timestamp = new Date(T0).toISOString();
    // The snapshot's read position: the state the messages describe reflects the log up to there.
    const position = encodePosition({ partition: 0, offset: 9 });
    expect(subscriber.sent).toEqual([
      { type: 'state_update', entity_id: 'ns/a', property: 'x', value: 1, timestamp, position },
      { type: 'state_update', entity_id: 'ns/a', property: 'y', value: 'two', timestamp, position },
      { type: 'state_update', entity_id: 'ns/a', property: 'gone', value: null, timestamp, position },
    ]);
    expect(other.sent).toEqual([]);
  });

  it('sends entity_deleted first for an entity deleted meanwhile, to every connection as a deletion always is', () => {
    const { hub, subscriber, other } = subscribedToAAndB();
    hub.publishChanges([
      {
        kind: 'snapshot',
        partition: 0,
        offset: 9,
        entityId: 'ns/a',
        entity: { properties: { fresh: 1 }, version: 1, lastUpdated: T0 },
        deleted: true,
        removed: ['old'],
        timestamp: T0,
      },
      { kind: 'snapshot', partition: 0, offset: 9, entityId: 'ns/gone', entity: undefined, deleted: false, removed: [], timestamp: T0 },
    ]);
    const timestamp = new Date(T0).toISOString();
    const position = encodePosition({ partition: 0, offset: 9 });
    expect(subscriber.sent).toEqual([
      { type: 'entity_deleted', entity_id: 'ns/a', timestamp, position },
      { type: 'state_update', entity_id: 'ns/a', property: 'fresh', value: 1, timestamp, position },
      { type: 'entity_deleted', entity_id: 'ns/gone', timestamp, position },
    ]);
    expect(other.sent.map((message) => message.type)).toEqual(['entity_deleted', 'entity_deleted']);
  });

  it('closes every connection when missed changes can no longer be told, so that clients reconnect and read again', () => {
    const subscriber = new FakeSocket();
    const firehose = new FakeSocket();
    const hub = hubWith(subscriber, firehose);
    subscriber.subscribe('ns/a');
    hub.publishChanges([{ kind: 'gap', partition: 3, offset: 120 }]);
    expect(subscriber.closed?.code).toBe(MISSED_UPDATES_CLOSE_CODE);
    expect(firehose.closed?.code).toBe(MISSED_UPDATES_CLOSE_CODE);
  });
});

/** One applied change of `property` on `entityId`, as the reducers publish it. */
const upsert = (entityId: string, value: number): FeedRecord => ({
  kind: 'upsert',
  partition: 0,
  offset: value,
  entityId,
  changes: [{ property: 'n', value }],
  version: value,
  timestamp: T0,
  source: 'test',
});
const idsSent = (socket: FakeSocket): unknown[] => socket.sent.map((message) => message.entity_id);

describe('WebSocketHub subscriptions: who receives what', () => {
  it('a connection gets everything until it subscribes, then only its ids; "*" brings everything back', () => {
    const socket = new FakeSocket();
    const hub = hubWith(socket);
    hub.publishChanges([upsert('ns/a', 1)]);
    socket.subscribe('ns/b');
    hub.publishChanges([upsert('ns/a', 2), upsert('ns/b', 3)]);
    socket.subscribe('*');
    hub.publishChanges([upsert('ns/c', 4)]);
    socket.emit('message', Buffer.from(JSON.stringify({ type: 'unsubscribe', entity_id: '*' })), false);
    hub.publishChanges([upsert('ns/c', 5), upsert('ns/b', 6)]);
    expect(idsSent(socket)).toEqual(['ns/a', 'ns/b', 'ns/c', 'ns/b']);
  });

  it('subscribing twice sends once; unsubscribing stops the updates and frees the room its id took', () => {
    const socket = new FakeSocket();
    const hub = new WebSocketHub({ maxBufferedBytes: 1 << 20, maxSubscriptionBytes: 2 * 'ns/x'.length * 2 });
    hub.add(socket as unknown as WebSocket);
    socket.subscribe('ns/a');
    socket.subscribe('ns/a');
    socket.subscribe('ns/b');
    socket.subscribe('ns/c'); // over the byte bound: ignored
    hub.publishChanges([upsert('ns/a', 1), upsert('ns/c', 2)]);
    socket.emit('message', Buffer.from(JSON.stringify({ type: 'unsubscribe', entity_id: 'ns/a' })), false);
    socket.subscribe('ns/c'); // room again
    hub.publishChanges([upsert('ns/a', 3), upsert('ns/b', 4), upsert('ns/c', 5)]);
    expect(idsSent(socket)).toEqual(['ns/a', 'ns/b', 'ns/c']);
  });

  it('a closed connection leaves every index: the others keep receiving and the count drops', () => {
    const counts: number[] = [];
    const leaving = new FakeSocket();
    const staying = new FakeSocket();
    const hub = new WebSocketHub({ maxBufferedBytes: 1 << 20, maxSubscriptionBytes: 1 << 20, onConnectionCount: (count) => counts.push(count) });
    hub.add(leaving as unknown as WebSocket);
    hub.add(staying as unknown as WebSocket);
    leaving.subscribe('ns/a');
    staying.subscribe('ns/a');
    leaving.emit('close');
    hub.publishChanges([upsert('ns/a', 1)]);
    expect(leaving.sent).toEqual([]);
    expect(idsSent(staying)).toEqual(['ns/a']);
    expect(hub.size).toBe(1);
    expect(counts).toEqual([1, 2, 1]);
  });
});
