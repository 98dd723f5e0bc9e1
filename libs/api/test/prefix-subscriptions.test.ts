import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { describe, expect, it, vi } from 'vitest';
import { encodePosition, type ChangeRecord, type EntitySnapshot, type StoredEntity } from '@flux/domain';
import type { ChangeReplay, EntityPage, ReplayPage } from '@flux/core';
import { parsePrefixSubscribe, type FilterCompiler } from '../src/websocket/prefix-subscribe-request.js';
import { PrefixSubscription } from '../src/websocket/prefix-subscription.js';
import { MAX_PREFIX_SUBSCRIPTIONS_PER_CONNECTION, WebSocketHub, type PrefixSources } from '../src/websocket/websocket-hub.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const all = { matchesEntity: () => true, matchesChange: () => true };
const everything: FilterCompiler = () => all;

const change = (partition: number, offset: number, entityId: string, value: unknown = offset): ChangeRecord => ({
  kind: 'upsert',
  partition,
  offset,
  entityId,
  changes: [{ property: 'v', value }],
  version: 1,
  timestamp: T0,
  source: 'test',
});

const entity = (partition: number, offset: number, v: unknown): StoredEntity => ({
  properties: { v },
  version: 1,
  lastUpdated: T0,
  position: { partition, offset },
});

describe('PrefixSubscription bookkeeping', () => {
  it('holds live changes while catching up, then delivers only those past the cursor', () => {
    const subscription = new PrefixSubscription('ns/', all, 2, 100);
    subscription.startAt([5, 7]);
    expect(subscription.receive(change(0, 4, 'ns/a'))).toBe('hold');
    expect(subscription.receive(change(0, 6, 'ns/a'))).toBe('hold');
    expect(subscription.receive(change(1, 7, 'ns/b'))).toBe('hold');
    expect(subscription.receive(change(1, 8, 'ns/b'))).toBe('hold');
    expect(subscription.live).toBe(false);
    expect(subscription.release().map(({ partition, offset }) => [partition, offset])).toEqual([
      [0, 6],
      [1, 8],
    ]);
    expect(subscription.live).toBe(true);
    expect(subscription.receive(change(0, 6, 'ns/a'))).toBe('drop'); // a change published again
    expect(subscription.receive(change(0, 9, 'ns/a'))).toBe('deliver');
    expect(subscription.cursor).toEqual([9, 8]);
  });

  it('drops changes a snapshot already reflects, until its partition passes the snapshot', () => {
    const subscription = new PrefixSubscription('ns/', all, 1, 100);
    subscription.startAt([10]);
    subscription.sentWhole('ns/a', { partition: 0, offset: 14 }); // read while changes went on
    subscription.sentWhole('ns/b', { partition: 0, offset: 3 }); // older than the start: nothing to remember
    for (const offset of [11, 12, 13, 14, 15]) subscription.receive(change(0, offset, offset % 2 === 0 ? 'ns/a' : 'ns/b'));
    subscription.receive(change(0, 16, 'ns/a'));
    expect(subscription.release().map(({ offset }) => offset)).toEqual([11, 13, 15, 16]);
    expect(subscription.cursor).toEqual([16]);
  });

  it('takes the state a catch-up sends without moving its cursor, and drops changes it reflects', () => {
    const subscription = new PrefixSubscription('ns/', all, 1, 100);
    subscription.startAt([5]);
    subscription.release();
    const snapshot: EntitySnapshot = {
      kind: 'snapshot',
      partition: 0,
      offset: 9,
      entityId: 'ns/a',
      entity: entity(0, 8, 1),
      deleted: false,
      removed: [],
      timestamp: T0,
    };
    expect(subscription.receive(snapshot)).toBe('deliver');
    expect(subscription.cursor).toEqual([5]);
    // Another entity's change below the snapshot's position is still due; one of the entity is not.
    expect(subscription.receive(change(0, 7, 'ns/b'))).toBe('deliver');
    expect(subscription.receive(change(0, 8, 'ns/a'))).toBe('drop');
    expect(subscription.receive(change(0, 10, 'ns/a'))).toBe('deliver');
  });

  it('overflows past its bound of held records', () => {
    const subscription = new PrefixSubscription('ns/', all, 1, 2);
    expect(subscription.receive(change(0, 1, 'ns/a'))).toBe('hold');
    expect(subscription.receive(change(0, 2, 'ns/a'))).toBe('hold');
    expect(subscription.receive(change(0, 3, 'ns/a'))).toBe('overflow');
  });
});

describe('subscribe requests', () => {
  const rules = { partitionCount: 4, publicMode: false, compileFilter: everything };

  it('accepts a prefix with snapshot, or with since as one token or one per partition', () => {
    expect(parsePrefixSubscribe({ prefix: 'ns/', snapshot: true }, rules)).toMatchObject({ prefix: 'ns/', snapshot: true, since: undefined });
    const one = encodePosition({ partition: 2, offset: 41 });
    expect(parsePrefixSubscribe({ prefix: '', since: one }, rules)).toMatchObject({ since: [-1, -1, 41, -1] });
    const all = [0, 1, 2, 3].map((partition) => encodePosition({ partition, offset: partition * 10 }));
    expect(parsePrefixSubscribe({ prefix: 'ns/', since: all }, rules)).toMatchObject({ since: [0, 10, 20, 30] });
  });

  it('refuses what no subscription can be', () => {
    const position = encodePosition({ partition: 1, offset: 1 });
    for (const message of [
      { prefix: 7 },
      { prefix: 'a\u0000' },
      { prefix: 'x'.repeat(513) },
      { prefix: 'ns/', snapshot: 1 },
      { prefix: 'ns/', snapshot: true, since: position },
      { prefix: 'ns/', since: 'nope' },
      { prefix: 'ns/', since: [position, position] },
      { prefix: 'ns/', since: [encodePosition({ partition: 9, offset: 1 })] },
      { prefix: 'ns/', since: [1, 2] },
    ]) {
      expect(typeof parsePrefixSubscribe(message, rules), JSON.stringify(message)).toBe('string');
    }
  });

  it('in public mode, wants a namespace and a slash, so a prefix never spans two namespaces', () => {
    const publicRules = { ...rules, publicMode: true };
    for (const prefix of ['', 'daw', 'dawn-coral', 'Dawn/x', 'ab/']) expect(typeof parsePrefixSubscribe({ prefix }, publicRules)).toBe('string');
    for (const prefix of ['dawn-coral/', 'dawn-coral/sensors/']) expect(parsePrefixSubscribe({ prefix }, publicRules)).toMatchObject({ prefix });
  });

  it('hands the filter to the compiler (the seam), and refuses it when the compiler does', () => {
    const compileFilter = vi.fn<FilterCompiler>((filter) => (filter === 'bad' ? 'not a filter' : all));
    expect(parsePrefixSubscribe({ prefix: 'ns/', filter: 'bad' }, { ...rules, compileFilter })).toBe('filter: not a filter');
    expect(typeof parsePrefixSubscribe({ prefix: 'ns/', filter: { a: 1 } }, { ...rules, compileFilter })).toBe('object');
    expect(compileFilter).toHaveBeenCalledWith({ a: 1 });
  });
});

/** The part of a ws socket the hub uses, recording what it is sent. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: Record<string, unknown>[] = [];

  send(frame: Buffer): void {
    this.sent.push(JSON.parse(frame.toString('utf8')) as Record<string, unknown>);
  }

  close(): void {
    this.readyState = 3;
  }

  request(message: Record<string, unknown>): void {
    this.emit('message', Buffer.from(JSON.stringify(message)), false);
  }

  types(): unknown[] {
    return this.sent.map((message) => message.type);
  }
}

/** A store of one partition whose reads wait until the test lets them go. */
class FakeSources implements ChangeReplay {
  position_ = 10;
  entities: { id: string; entity: StoredEntity }[] = [];
  records: ChangeRecord[] = [];
  complete = true;
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  letGo(): void {
    this.open();
  }

  async position(): Promise<number> {
    return this.position_;
  }

  async replayAfter(_partition: number, afterOffset: number): Promise<ReplayPage> {
    await this.gate;
    return { records: this.records.filter((record) => record.offset > afterOffset), complete: this.complete };
  }

  async listEntities(query: { prefix: string }): Promise<EntityPage> {
    await this.gate;
    return { entities: this.entities.filter(({ id }) => id.startsWith(query.prefix)) };
  }

  sources(extra: Partial<PrefixSources> = {}): PrefixSources {
    return { partitionCount: 1, replay: this, reader: this, publicMode: false, ...extra };
  }
}

function hubOf(sources: FakeSources, extra: Partial<PrefixSources> = {}): { hub: WebSocketHub; socket: FakeSocket } {
  const hub = new WebSocketHub({ maxBufferedBytes: 1 << 20, maxSubscriptionBytes: 1 << 20, prefixes: sources.sources(extra) });
  const socket = new FakeSocket();
  hub.add(socket as unknown as WebSocket);
  return { hub, socket };
}

const subscribedIn = async (socket: FakeSocket): Promise<void> => {
  await vi.waitFor(() => expect(socket.types()).toContain('subscribed'));
};

describe('WebSocketHub prefix subscriptions', () => {
  it('sends the snapshot, then the changes held meanwhile that it does not reflect, then live ones', async () => {
    const sources = new FakeSources();
    sources.entities = [
      { id: 'ns/a', entity: entity(0, 12, 'a12') },
      { id: 'ns/b', entity: entity(0, 4, 'b4') },
    ];
    sources.hold();
    const { hub, socket } = hubOf(sources);
    socket.request({ type: 'subscribe', prefix: 'ns/', snapshot: true });
    // Changes while the snapshot is read: 11 and 12 are in it (ns/a at 12), 13 is not.
    hub.publishChanges([change(0, 11, 'ns/a', 'a11'), change(0, 12, 'ns/a', 'a12'), change(0, 13, 'ns/b', 'b13'), change(0, 14, 'other/x')]);
    sources.letGo();
    await subscribedIn(socket);
    hub.publishChanges([change(0, 15, 'ns/a', 'a15')]);
    expect(socket.sent.map((message) => [message.type, message.entity_id ?? message.prefix, message.value ?? null])).toEqual([
      ['subscribing', 'ns/', null],
      ['entity_snapshot', 'ns/a', null],
      ['entity_snapshot', 'ns/b', null],
      ['subscribed', 'ns/', null],
      ['state_update', 'ns/b', 'b13'],
      ['state_update', 'ns/a', 'a15'],
    ]);
    expect(socket.sent[3]).toEqual({ type: 'subscribed', prefix: 'ns/', since: [encodePosition({ partition: 0, offset: 10 })] });
    expect(socket.sent[1]).toMatchObject({
      entity: { id: 'ns/a', properties: { v: 'a12' } },
      position: encodePosition({ partition: 0, offset: 12 }),
    });
  });

  it('replays the changes after since, then goes live without repeating them', async () => {
    const sources = new FakeSources();
    sources.records = [change(0, 3, 'ns/a'), change(0, 4, 'other/b'), change(0, 5, 'ns/c')];
    sources.hold();
    const { hub, socket } = hubOf(sources);
    socket.request({ type: 'subscribe', prefix: 'ns/', since: [encodePosition({ partition: 0, offset: 2 })] });
    hub.publishChanges([change(0, 5, 'ns/c'), change(0, 6, 'ns/a')]);
    sources.letGo();
    await subscribedIn(socket);
    expect(socket.sent.filter((message) => message.type === 'state_update').map((message) => [message.entity_id, message.value])).toEqual([
      ['ns/a', 3],
      ['ns/c', 5],
      ['ns/a', 6],
    ]);
    expect(socket.sent.find((message) => message.type === 'subscribed')).toMatchObject({ since: [encodePosition({ partition: 0, offset: 5 })] });
  });

  it('says resync_required and drops the subscription when the replay cannot be complete', async () => {
    const sources = new FakeSources();
    sources.complete = false;
    const { hub, socket } = hubOf(sources);
    socket.request({ type: 'subscribe', prefix: 'ns/', since: [encodePosition({ partition: 0, offset: 2 })] });
    await vi.waitFor(() => expect(socket.types()).toContain('resync_required'));
    hub.publishChanges([change(0, 20, 'ns/a')]);
    expect(socket.types()).toEqual(['subscribing', 'resync_required']);
  });

  it('bounds prefix subscriptions per connection and refuses overlapping ones', async () => {
    const { socket } = hubOf(new FakeSources());
    socket.request({ type: 'subscribe', prefix: 'ns/' });
    socket.request({ type: 'subscribe', prefix: 'ns/deeper/' });
    socket.request({ type: 'subscribe', prefix: 'n' });
    for (let n = 1; n < MAX_PREFIX_SUBSCRIPTIONS_PER_CONNECTION; n += 1) socket.request({ type: 'subscribe', prefix: `p${n}/` });
    socket.request({ type: 'subscribe', prefix: 'one-too-many/' });
    await vi.waitFor(() =>
      expect(socket.sent.filter((message) => message.type === 'subscribed')).toHaveLength(MAX_PREFIX_SUBSCRIPTIONS_PER_CONNECTION),
    );
    expect(socket.sent.filter((message) => message.type === 'subscription_error').map((message) => message.prefix)).toEqual([
      'ns/deeper/',
      'n',
      'one-too-many/',
    ]);
  });

  it('applies the compiled filter to snapshots and changes', async () => {
    const sources = new FakeSources();
    sources.entities = [
      { id: 'ns/a', entity: entity(0, 1, 'keep') },
      { id: 'ns/b', entity: entity(0, 2, 'skip') },
    ];
    const compileFilter: FilterCompiler = () => ({
      matchesEntity: (_id, stored) => stored.properties.v === 'keep',
      matchesChange: (record) => record.kind === 'upsert' && record.changes.some(({ value }) => value === 'keep'),
    });
    const { hub, socket } = hubOf(sources, { compileFilter });
    socket.request({ type: 'subscribe', prefix: 'ns/', snapshot: true, filter: { any: 'thing' } });
    await subscribedIn(socket);
    hub.publishChanges([change(0, 11, 'ns/a', 'keep'), change(0, 12, 'ns/b', 'skip')]);
    expect(socket.sent.filter((message) => message.entity_id !== undefined).map((message) => [message.type, message.entity_id])).toEqual([
      ['entity_snapshot', 'ns/a'],
      ['state_update', 'ns/a'],
    ]);
  });

  it('leaves connections without prefix subscriptions as they were: firehose, and every deletion', () => {
    const sources = new FakeSources();
    const { hub, socket } = hubOf(sources);
    const firehose = new FakeSocket();
    hub.add(firehose as unknown as WebSocket);
    socket.request({ type: 'subscribe', prefix: 'ns/' });
    hub.publishChanges([{ kind: 'delete', partition: 0, offset: 11, entityId: 'other/x', timestamp: T0, source: 'test' }]);
    expect(firehose.types()).toEqual(['entity_deleted']);
    expect(socket.types()).toEqual(['subscribing']);
  });
});
