/**
 * Prefix subscriptions over the WebSocket: `{"type":"subscribe","prefix"}` with `snapshot` or
 * `since`, resync_required, and resuming across a restart of the server (embedded) or of every
 * query gateway (cluster), raw and through @flux/client's watch().
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePosition } from '@flux/domain';
import { FluxClient, type PrefixWatchMessage, type Watch } from '@flux/client';
import { deploymentKindName, startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import { envelope, get, request, unique, waitFor, type Json } from './support/client.js';
import { expectStatus } from './support/expect.js';
import { WsClient } from './support/ws-client.js';

/** Offsets of each partition whose changes are kept: small, so a test can outrun it. */
const RETENTION = 400;
let flux: Deployment;

beforeAll(async () => {
  flux = await startDeployment({ env: { FLUX_CHANGE_RETENTION_OFFSETS: String(RETENTION) } });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await flux?.dispose();
});

interface Ack {
  readonly id: string;
  readonly position: string;
  readonly partition: number;
  readonly offset: number;
  readonly properties: Record<string, unknown>;
}

/** Publishes one event and returns where the log put it. */
async function write(id: string, properties: Record<string, unknown>): Promise<Ack> {
  const response = await request(flux, 'POST', '/api/events', { json: envelope(id, properties) });
  expectStatus(response, 200, `publish ${id}`);
  const { position, partition, offset } = response.body as { position: string; partition: number; offset: number };
  return { id, position, partition, offset, properties };
}

/** `rounds` events to each of `ids`, the entities written concurrently, each one in order. */
async function writeConcurrently(ids: readonly string[], rounds: number, label: string): Promise<Ack[]> {
  const perEntity = await Promise.all(
    ids.map(async (id) => {
      const acks: Ack[] = [];
      for (let n = 0; n < rounds; n += 1) acks.push(await write(id, { [label]: n, at: `${label}-${n}` }));
      return acks;
    }),
  );
  return perEntity.flat();
}

const offsetOf = (token: unknown): number => parsePosition(String(token))!.offset;
const isChange = (message: Json): boolean => message.type === 'state_update' || message.type === 'entity_deleted';

/**
 * Checks the change frames a subscriber received against the writes: every expected event's
 * frames exactly once (one per property, with its values), in log order per entity, and no
 * frame of any other event of those entities.
 */
function expectExactlyOnce(frames: readonly Json[], expected: readonly Ack[], entities?: readonly string[]): void {
  const ids = new Set(entities ?? expected.map((ack) => ack.id));
  const received = new Map<string, Json[]>();
  for (const frame of frames) {
    if (!isChange(frame) || !ids.has(frame.entity_id)) continue;
    const list = received.get(frame.entity_id) ?? [];
    list.push(frame);
    received.set(frame.entity_id, list);
  }
  for (const id of ids) {
    const acks = expected.filter((ack) => ack.id === id).sort((a, b) => a.offset - b.offset);
    const wanted = acks.flatMap((ack) => Object.entries(ack.properties).map(([property, value]) => ({ position: ack.position, property, value })));
    const got = (received.get(id) ?? []).map((frame) => ({ position: frame.position, property: frame.property, value: frame.value }));
    expect(got, `change frames of ${id}`).toEqual(wanted);
  }
}

/** Waits until every write in `acks` is applied (a write is acknowledged once in the log, before). */
async function applied(acks: readonly Ack[]): Promise<void> {
  const newest = new Map<string, number>();
  for (const ack of acks) newest.set(ack.id, Math.max(ack.offset, newest.get(ack.id) ?? -1));
  for (const [id, offset] of newest) {
    await waitFor(
      async () => {
        const response = await get(flux, `/api/state/entities/${encodeURIComponent(id)}`);
        return response.status === 200 && offsetOf(response.body.position) >= offset;
      },
      { timeoutMs: 30_000, what: `${id} applied up to offset ${offset}` },
    );
  }
}

/** Waits until the subscriber has the frames of every write in `acks` (or more). */
async function waitForFrames(messages: () => readonly Json[], acks: readonly Ack[], what: string): Promise<void> {
  const needed = new Set(acks.map((ack) => `${ack.id} ${ack.position}`));
  await waitFor(
    () => {
      for (const message of messages()) if (isChange(message)) needed.delete(`${message.entity_id} ${message.position}`);
      return needed.size === 0;
    },
    { timeoutMs: 30_000, what: `${what}: ${needed.size} changes still missing` },
  );
}

/**
 * What a connection received through its prefix subscription: everything after the server's
 * `subscribing` (before it, a new connection receives every update, the firehose).
 */
function ofSubscription(client: WsClient, prefix: string): Json[] {
  const at = client.messages.findIndex((message) => message.type === 'subscribing' && message.prefix === prefix);
  return at < 0 ? [] : client.messages.slice(at + 1);
}

/** Where a raw subscriber stands per partition: the `subscribed` message's since, advanced by each change. */
function cursorOf(messages: readonly Json[]): string[] {
  const byPartition = new Map<number, { offset: number; token: string }>();
  const note = (token: string): void => {
    const position = parsePosition(token)!;
    const known = byPartition.get(position.partition);
    if (known === undefined || position.offset > known.offset) byPartition.set(position.partition, { offset: position.offset, token });
  };
  for (const message of messages) {
    if (message.type === 'subscribed') (message.since as string[]).forEach(note);
    else if (isChange(message)) note(message.position);
  }
  return [...byPartition.values()].map(({ token }) => token);
}

async function subscribed(client: WsClient, subscribe: Record<string, unknown>): Promise<Json> {
  const since = client.mark();
  client.send({ type: 'subscribe', ...subscribe });
  return await client.waitFor((message) => message.type === 'subscribed' && message.prefix === subscribe.prefix, {
    since,
    timeoutMs: 30_000,
    what: `subscribed to ${String(subscribe.prefix)}`,
  });
}

describe('subscribe by prefix', () => {
  it('is described in the OpenAPI document', async () => {
    const doc = (await get(flux, '/api/openapi.json')).body as Json;
    const description = String(doc.paths['/api/ws'].get.description);
    for (const word of ['prefix', 'snapshot', 'since', 'entity_snapshot', 'subscribed', 'resync_required', 'subscription_error']) {
      expect(description).toContain(word);
    }
  });

  it('sends the changes of entities under the prefix only, after subscribing and subscribed', async () => {
    const prefix = `${unique('pfx')}/`;
    const client = await WsClient.connect(flux.wsUrl);
    try {
      const marker = await subscribed(client, { prefix });
      expect(client.matching((message) => message.type === 'subscribing' && message.prefix === prefix)).toHaveLength(1);
      expect(Array.isArray(marker.since)).toBe(true);
      const mine = [await write(`${prefix}a`, { t: 1 }), await write(`${prefix}b/c`, { t: 2, u: 3 })];
      const other = await write(`${prefix.slice(0, -1)}x/a`, { t: 9 });
      await waitForFrames(() => client.messages, mine, 'prefix changes');
      // The other entity was written between the two of the prefix, so it would have arrived by now.
      await write(`${prefix}a`, { t: 4 }).then((ack) => waitForFrames(() => client.messages, [ack], 'a later change'));
      expect(ofSubscription(client, prefix).filter((message) => message.entity_id === other.id)).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('refuses invalid, overlapping and malformed requests with subscription_error and keeps the socket open', async () => {
    const prefix = `${unique('bad')}/`;
    const client = await WsClient.connect(flux.wsUrl);
    try {
      await subscribed(client, { prefix });
      const cases: Record<string, unknown>[] = [
        { prefix: `${prefix}nested/` },
        { prefix: 'bad\u0001' },
        { prefix: 'x'.repeat(600) },
        { prefix: `${unique('s')}/`, since: 'not-a-position' },
        { prefix: `${unique('s')}/`, snapshot: 'yes' },
        { prefix: `${unique('s')}/`, snapshot: true, since: [] },
      ];
      for (const subscribe of cases) {
        const since = client.mark();
        client.send({ type: 'subscribe', ...subscribe });
        const error = await client.waitFor((message) => message.type === 'subscription_error', {
          since,
          what: `error for ${JSON.stringify(subscribe).slice(0, 80)}`,
        });
        expect(typeof error.error).toBe('string');
      }
      expect(client.isOpen).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('snapshot: every entity of the prefix, then its later changes, with no gap and no duplicate under concurrent writes', async () => {
    const prefix = `${unique('snap')}/`;
    const ids = Array.from({ length: 24 }, (_, n) => `${prefix}e${String(n).padStart(2, '0')}`);
    const before = await writeConcurrently(ids, 2, 'before');
    // Every entity exists before the snapshot starts (writes are acknowledged before they are applied).
    await applied(before);
    const client = await WsClient.connect(flux.wsUrl);
    try {
      const during = writeConcurrently(ids.slice(0, 8), 15, 'during');
      client.send({ type: 'subscribe', prefix, snapshot: true });
      const writes = [...before, ...(await during)];
      await client.waitFor((message) => message.type === 'subscribed' && message.prefix === prefix, {
        timeoutMs: 30_000,
        what: 'the end of the snapshot',
      });
      const after = await writeConcurrently(ids.slice(4, 12), 3, 'after');
      await waitForFrames(() => client.messages, after, 'changes after the snapshot');
      const received = ofSubscription(client, prefix);
      const snapshots = received.filter((message) => message.type === 'entity_snapshot');
      expect(snapshots.map((message) => message.entity_id).sort()).toEqual(ids);
      for (const snapshot of snapshots) {
        const seenAt = offsetOf(snapshot.position);
        expect(snapshot.entity.id).toBe(snapshot.entity_id);
        expect(snapshot.entity.position).toBe(snapshot.position);
        // Its changes after the snapshot's position are delivered, each once; none at or before it.
        const expected = [...writes, ...after].filter((ack) => ack.id === snapshot.entity_id && ack.offset > seenAt);
        expectExactlyOnce(received, expected, [snapshot.entity_id]);
        const stray = received.filter(
          (message) => isChange(message) && message.entity_id === snapshot.entity_id && offsetOf(message.position) <= seenAt,
        );
        expect(stray).toEqual([]);
        // The state the snapshot shows is the one of its position.
        const last = [...writes].filter((ack) => ack.id === snapshot.entity_id && ack.offset <= seenAt).sort((a, b) => b.offset - a.offset)[0]!;
        expect(snapshot.entity.properties).toMatchObject(last.properties);
      }
    } finally {
      await client.close();
    }
  });

  it('since: replays every change after the positions given, then goes live', async () => {
    const prefix = `${unique('since')}/`;
    const ids = [`${prefix}a`, `${prefix}b`, `${prefix}c/d`];
    const first = await WsClient.connect(flux.wsUrl);
    const seen = await (async () => {
      try {
        await subscribed(first, { prefix });
        const acks = await writeConcurrently(ids, 3, 'one');
        await waitForFrames(() => first.messages, acks, 'the first changes');
        return ofSubscription(first, prefix);
      } finally {
        await first.close();
      }
    })();
    const missed = await writeConcurrently(ids, 4, 'two');
    // Applied before the subscriber comes back, so the replay (not the live feed) has them all.
    await applied(missed);
    const second = await WsClient.connect(flux.wsUrl);
    try {
      const marker = await subscribed(second, { prefix, since: cursorOf(seen) });
      const replayed = ofSubscription(second, prefix).slice(0, ofSubscription(second, prefix).indexOf(marker));
      expectExactlyOnce(replayed, missed);
      const live = await writeConcurrently(ids, 2, 'three');
      await waitForFrames(() => second.messages, live, 'live changes after the replay');
      expectExactlyOnce(ofSubscription(second, prefix), [...missed, ...live]);
    } finally {
      await second.close();
    }
  });

  it('resync_required when the position is older than the changes kept', async () => {
    const prefix = `${unique('old')}/`;
    const id = `${prefix}busy`;
    const first = await write(id, { n: 0 });
    // Its partition moves on past the retention window (one commit after another).
    let last = first;
    for (let n = 1; n <= RETENTION + 150; n += 1) last = await write(id, { n });
    await applied([last]);
    const client = await WsClient.connect(flux.wsUrl);
    try {
      client.send({ type: 'subscribe', prefix, since: [first.position] });
      const resync = await client.waitFor((message) => message.type === 'resync_required', { timeoutMs: 30_000, what: 'resync_required' });
      expect(resync.prefix).toBe(prefix);
      expect(client.matching((message) => message.type === 'subscribed')).toEqual([]);
      // A snapshot then brings the subscriber up to date.
      await subscribed(client, { prefix, snapshot: true });
      const snapshot = client.matching((message) => message.type === 'entity_snapshot' && message.entity_id === id);
      expect(snapshot).toHaveLength(1);
      expect(snapshot[0].entity.properties).toEqual({ n: RETENTION + 150 });
    } finally {
      await client.close();
    }
  }, 120_000);

  it('filter: the snapshot holds the matching entities; changes arrive while an entity matches, and the one that makes it leave', async () => {
    const prefix = `${unique('flt')}/`;
    const [low, high, gone] = [`${prefix}low`, `${prefix}high`, `${prefix}gone`];
    await applied([
      await write(low, { battery: 10, kind: 'robot' }),
      await write(high, { battery: 90, kind: 'robot' }),
      await write(gone, { battery: 5 }),
    ]);
    const client = await WsClient.connect(flux.wsUrl);
    try {
      const filter = 'kind = "robot" and battery < 20';
      await subscribed(client, { prefix, snapshot: true, filter });
      const snapshots = ofSubscription(client, prefix).filter((message) => message.type === 'entity_snapshot');
      expect(snapshots.map((message) => message.entity_id)).toEqual([low]);
      // low leaves the result (its change is delivered), high enters it, a new robot starts in it,
      // gone never matched: none of its changes nor its deletion arrive.
      const changes = [
        await write(low, { battery: 50 }),
        await write(high, { battery: 15 }),
        await write(`${prefix}new`, { battery: 1, kind: 'robot' }),
        await write(gone, { battery: 6 }),
      ];
      await request(flux, 'DELETE', `/api/state/entities/${encodeURIComponent(gone)}`);
      // low changes once out of the result, then enters it again: frames of one entity arrive in
      // order, so once its re-entry is in, a delivered out-of-result change would be too.
      const later = [await write(low, { battery: 60 }), await write(high, { battery: 16 }), await write(low, { battery: 5 })];
      await waitForFrames(() => client.messages, [changes[0]!, changes[1]!, changes[2]!, later[1]!, later[2]!], 'filtered changes');
      const received = ofSubscription(client, prefix).filter(isChange);
      expect(received.filter((message) => message.entity_id === gone)).toEqual([]);
      // Once out of the result, low's later changes no longer arrive.
      expect(received.filter((message) => message.entity_id === low).map((message) => message.value)).toEqual([50, 5]);
      expect(received.filter((message) => message.entity_id === high).map((message) => message.value)).toEqual([15, 16]);

      const since = client.mark();
      client.send({ type: 'subscribe', prefix: `${unique('flt')}/`, filter: 'battery <' });
      const error = await client.waitFor((message) => message.type === 'subscription_error', { since, what: 'a bad filter refused' });
      expect(String(error.error)).toMatch(/^filter: /);
    } finally {
      await client.close();
    }
  });
});

/** Kills what serves the WebSocket (the embedded server, or every query gateway) and waits until it serves again. */
async function killWebSocketServers(): Promise<void> {
  if (deploymentKindName() !== 'cluster') {
    await flux.restart({ signal: 'SIGKILL' });
    return;
  }
  const stateFile = join(flux.dataDir, 'cluster-state.json');
  const processes = async (): Promise<Record<string, number>> =>
    (JSON.parse(await readFile(stateFile, 'utf8')) as { processes: Record<string, number> }).processes;
  const gateways = Object.entries(await processes()).filter(([name]) => name.startsWith('query-gateway-'));
  expect(gateways.length).toBeGreaterThan(0);
  for (const [, pid] of gateways) process.kill(pid, 'SIGKILL');
  await waitFor(
    async () => {
      const now = await processes();
      return gateways.every(([name, pid]) => now[name] !== undefined && now[name] !== pid);
    },
    { timeoutMs: 60_000, what: 'every query gateway to be restarted' },
  );
  // Several answers in a row: the balancer spreads requests over the gateways.
  for (let n = 0; n < 4; n += 1) await waitFor(async () => (await get(flux, '/ready')).status === 200, { timeoutMs: 60_000, what: 'readiness' });
}

describe('resuming across a restart', () => {
  it('a subscriber disconnected over a restart, and a watch() that resumes by itself, see every change exactly once', async () => {
    const prefix = `${unique('resume')}/`;
    const ids = Array.from({ length: 6 }, (_, n) => `${prefix}s${n}`);
    const raw = await WsClient.connect(flux.wsUrl);
    const watcher = new FluxClient({ url: flux.baseUrl }).watch({ prefix, metrics: false, backoff: { initialMs: 100, maxMs: 1_000 } });
    const watched: PrefixWatchMessage[] = [];
    const reading = (async (watch: Watch<PrefixWatchMessage>) => {
      for await (const message of watch) watched.push(message);
    })(watcher);
    try {
      await subscribed(raw, { prefix });
      await waitFor(() => watched.some((message) => message.type === 'subscribed'), { what: 'the watch to subscribe' });
      const one = await writeConcurrently(ids, 5, 'one');
      await waitForFrames(() => raw.messages, one, 'raw: the first changes');
      await raw.close();
      const seenBefore = ofSubscription(raw, prefix);

      const two = await writeConcurrently(ids, 5, 'two'); // while the raw subscriber is away
      await killWebSocketServers();
      const three = await writeConcurrently(ids, 5, 'three');

      const resumed = await WsClient.connect(flux.wsUrl);
      try {
        await subscribed(resumed, { prefix, since: cursorOf(seenBefore) });
        const four = await writeConcurrently(ids, 5, 'four');
        const all = [...one, ...two, ...three, ...four];
        await waitForFrames(() => resumed.messages, [...two, ...three, ...four], 'raw: the changes after the restart');
        await waitForFrames(() => watched as Json[], all, 'watch(): every change');
        const rawFrames = [...seenBefore, ...ofSubscription(resumed, prefix)];
        expectExactlyOnce(rawFrames, all);
        expectExactlyOnce(watched as Json[], all);
        // The watch noticed the restart and resumed rather than starting afresh.
        expect(watched.some((message) => message.type === 'connection' && message.state === 'open' && message.resuming === true)).toBe(true);
        // Checked against history too: the events of each entity are the ones seen, in order.
        for (const id of ids) {
          const history = await get(flux, `/api/events?entity=${encodeURIComponent(id)}&limit=500`);
          expectStatus(history, 200);
          const stored = (history.body as Json[]).map((event) => event.payload.properties).reverse();
          const seen = [...new Set(rawFrames.filter((frame) => isChange(frame) && frame.entity_id === id).map((frame) => frame.position as string))];
          expect(seen).toHaveLength(stored.length);
          expect(stored).toEqual(all.filter((ack) => ack.id === id).map((ack) => ack.properties));
        }
        const changes = all.length;
        const frames = rawFrames.filter(isChange).length;
        console.log(
          JSON.stringify({
            resumeTest: { deployment: deploymentKindName(), changes, frames, watchFrames: (watched as Json[]).filter(isChange).length },
          }),
        );
      } finally {
        await resumed.close();
      }
    } finally {
      watcher.close();
      await reading.catch(() => undefined);
      await raw.close();
    }
  }, 240_000);
});
