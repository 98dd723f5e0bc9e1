/** Contract section 6: the WebSocket at GET /api/ws. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import { ISO_UTC, batchOk, envelope, publishOk, request, unique, waitFor, waitForEntity, type Json } from './support/client.js';
import { expectStatus } from './support/expect.js';
import { WsClient, isEntityDeleted, isMetricsUpdate, isStateUpdate } from './support/ws-client.js';

let flux: Deployment;
const open: WsClient[] = [];

beforeAll(async () => {
  flux = await startDeployment();
}, STARTUP_TIMEOUT_MS);

afterEach(async () => {
  await Promise.all(open.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  await flux?.dispose();
});

async function connect(): Promise<WsClient> {
  const client = await WsClient.connect(flux.wsUrl);
  open.push(client);
  return client;
}

/** How long a connection is watched to show that a message does NOT arrive. */
const ABSENCE_WINDOW_MS = 750;

const anyUpdateFor = (ids: readonly string[]) => (message: Json) =>
  (message?.type === 'state_update' || message?.type === 'entity_deleted') && ids.includes(message.entity_id);

describe('state_update', () => {
  it('a connection that never subscribed receives every update (firehose), one message per property', async () => {
    const client = await connect();
    const id = `${unique('ws-fire')}/sensor`;
    await publishOk(flux, id, { temperature: 22.5, meta: { unit: 'C', tags: ['a'] } });
    const temperature = await client.waitFor(isStateUpdate(id, 'temperature'), { what: `state_update ${id}.temperature` });
    const meta = await client.waitFor(isStateUpdate(id, 'meta'), { what: `state_update ${id}.meta` });
    expect(temperature).toMatchObject({ type: 'state_update', entity_id: id, property: 'temperature', value: 22.5 });
    expect(meta.value).toEqual({ unit: 'C', tags: ['a'] });
    expect(temperature.timestamp).toMatch(ISO_UTC);
    expect(client.matching(isStateUpdate(id))).toHaveLength(2);
  });

  it('sends one state_update per property of each applied event, even when the value did not change', async () => {
    const client = await connect();
    const id = unique('ws-same');
    await publishOk(flux, id, { a: 1, b: 'x' });
    await publishOk(flux, id, { a: 1, b: 'x' });
    await client.waitForCount(isStateUpdate(id, 'a'), 2, { what: `${id}.a` });
    await client.waitForCount(isStateUpdate(id, 'b'), 2, { what: `${id}.b` });
    expect(client.matching(isStateUpdate(id, 'a')).map((message) => message.value)).toEqual([1, 1]);
  });

  it('a removed property (null) is announced with "value": null', async () => {
    const client = await connect();
    const id = unique('ws-null');
    await publishOk(flux, id, { keep: 1, drop: 2 });
    await client.waitFor(isStateUpdate(id, 'drop'));
    const mark = client.mark();
    await publishOk(flux, id, { drop: null });
    const removal = await client.waitFor(isStateUpdate(id, 'drop'), { since: mark, what: 'the removal' });
    expect(Object.hasOwn(removal, 'value')).toBe(true);
    expect(removal.value).toBeNull();
  });

  it('updates of a batch arrive for every element', async () => {
    const client = await connect();
    const prefix = unique('ws-batch');
    await batchOk(flux, [envelope(`${prefix}/a`, { n: 1 }), envelope(`${prefix}/b`, { n: 2 }), envelope(`${prefix}/a`, { n: 3 })]);
    await client.waitForCount(isStateUpdate(`${prefix}/a`, 'n'), 2);
    await client.waitFor(isStateUpdate(`${prefix}/b`, 'n'));
    expect(client.matching(isStateUpdate(`${prefix}/a`, 'n')).map((message) => message.value)).toEqual([1, 3]);
  });
});

describe('subscriptions', () => {
  it('after subscribing, a connection receives only what it subscribed to', async () => {
    const firehose = await connect();
    const subscriber = await connect();
    const wanted = unique('ws-want');
    const other = unique('ws-other');
    subscriber.subscribe(wanted);
    // The subscription is active once an update for `wanted` arrives.
    await waitFor(
      async () => {
        await publishOk(flux, wanted, { ping: Date.now() });
        return subscriber.matching(isStateUpdate(wanted)).length > 0;
      },
      { timeoutMs: 5_000, intervalMs: 250, what: 'the subscription to take effect' },
    );
    const mark = subscriber.mark();
    await publishOk(flux, other, { n: 1 });
    await publishOk(flux, wanted, { n: 2 });
    await subscriber.waitFor((message) => isStateUpdate(wanted, 'n')(message) && message.value === 2, { since: mark });
    await firehose.waitFor(isStateUpdate(other, 'n'), { what: 'the other entity on the firehose' });
    const leaked = await subscriber.collectDuring(anyUpdateFor([other]), ABSENCE_WINDOW_MS, mark);
    expect(leaked, 'updates for an entity the connection did not subscribe to').toEqual([]);
  });

  it('several subscriptions add up', async () => {
    const subscriber = await connect();
    const firehose = await connect();
    const [a, b, c] = [unique('ws-sa'), unique('ws-sb'), unique('ws-sc')];
    subscriber.subscribe(a);
    subscriber.subscribe(b);
    await waitFor(
      async () => {
        await publishOk(flux, b, { ping: Date.now() });
        return subscriber.matching(isStateUpdate(b)).length > 0;
      },
      { timeoutMs: 5_000, intervalMs: 250, what: 'subscriptions to take effect' },
    );
    await publishOk(flux, a, { n: 1 });
    await publishOk(flux, c, { n: 1 });
    await subscriber.waitFor(isStateUpdate(a, 'n'));
    await firehose.waitFor(isStateUpdate(c, 'n'));
    expect(await subscriber.collectDuring(anyUpdateFor([c]), ABSENCE_WINDOW_MS, 0)).toEqual([]);
  });

  it('unsubscribing from everything does NOT turn the connection back into a firehose', async () => {
    const firehose = await connect();
    const client = await connect();
    const id = unique('ws-unsub');
    const other = unique('ws-unsub-other');
    client.subscribe(id);
    await waitFor(
      async () => {
        await publishOk(flux, id, { ping: Date.now() });
        return client.matching(isStateUpdate(id)).length > 0;
      },
      { timeoutMs: 5_000, intervalMs: 250, what: 'the subscription to take effect' },
    );
    client.unsubscribe(id);
    // Frames of one connection are handled in order; a later subscribe/unsubscribe round trip on
    // an unrelated id proves the unsubscribe was processed.
    const probe = unique('ws-probe');
    client.subscribe(probe);
    await waitFor(
      async () => {
        await publishOk(flux, probe, { ping: Date.now() });
        return client.matching(isStateUpdate(probe)).length > 0;
      },
      { timeoutMs: 5_000, intervalMs: 250, what: 'the probe subscription' },
    );
    client.unsubscribe(probe);
    const mark = client.mark();
    await publishOk(flux, id, { after: 1 });
    await publishOk(flux, other, { after: 1 });
    await firehose.waitFor(isStateUpdate(id, 'after'));
    await firehose.waitFor(isStateUpdate(other, 'after'));
    // Probe pings still in flight when the mark was taken may arrive; updates published after
    // the unsubscribe must not.
    const received = await client.collectDuring(anyUpdateFor([id, other]), ABSENCE_WINDOW_MS, mark);
    expect(received, 'a connection unsubscribed from everything must receive no state updates').toEqual([]);
  });

  it('"*" subscribes to all entities', async () => {
    const client = await connect();
    const firehoseCheck = await connect();
    const marker = unique('ws-star-marker');
    client.subscribe(marker);
    client.subscribe('*');
    const [a, b] = [unique('ws-star-a'), `${unique('ws-star-b')}/x/y`];
    await waitFor(
      async () => {
        await publishOk(flux, a, { ping: Date.now() });
        return client.matching(isStateUpdate(a)).length > 0;
      },
      { timeoutMs: 5_000, intervalMs: 250, what: 'the wildcard subscription' },
    );
    await publishOk(flux, b, { n: 1 });
    await client.waitFor(isStateUpdate(b, 'n'));
    await firehoseCheck.waitFor(isStateUpdate(b, 'n'));
  });

  it('unsubscribing from "*" stops the wildcard', async () => {
    const client = await connect();
    const firehose = await connect();
    client.subscribe('*');
    const id = unique('ws-star-off');
    await waitFor(
      async () => {
        await publishOk(flux, id, { ping: Date.now() });
        return client.matching(isStateUpdate(id)).length > 0;
      },
      { timeoutMs: 5_000, intervalMs: 250, what: 'the wildcard subscription' },
    );
    client.unsubscribe('*');
    const probe = unique('ws-star-probe');
    client.subscribe(probe);
    await waitFor(
      async () => {
        await publishOk(flux, probe, { ping: Date.now() });
        return client.matching(isStateUpdate(probe)).length > 0;
      },
      { timeoutMs: 5_000, intervalMs: 250, what: 'the probe subscription' },
    );
    const mark = client.mark();
    const later = unique('ws-star-later');
    await publishOk(flux, later, { n: 1 });
    await firehose.waitFor(isStateUpdate(later, 'n'));
    expect(await client.collectDuring(anyUpdateFor([later]), ABSENCE_WINDOW_MS, mark)).toEqual([]);
  });

  it('unparseable or unknown client messages are ignored and the socket stays open', async () => {
    const client = await connect();
    for (const frame of [
      'not json',
      '{',
      '[1,2,3]',
      'null',
      '42',
      '"subscribe"',
      '{"type":"dance","entity_id":"x"}',
      '{"kind":"subscribe"}',
      '{"type":null}',
    ]) {
      client.send(frame);
    }
    // Still a firehose (none of that was a subscription), still open.
    const id = unique('ws-garbage');
    await publishOk(flux, id, { n: 1 });
    await client.waitFor(isStateUpdate(id, 'n'), { what: 'a firehose update after garbage frames' });
    expect(client.isOpen).toBe(true);
    // And it still understands real messages.
    const target = unique('ws-garbage-sub');
    client.subscribe(target);
    await waitFor(
      async () => {
        await publishOk(flux, target, { ping: Date.now() });
        return client.matching(isStateUpdate(target)).length > 0;
      },
      { timeoutMs: 5_000, intervalMs: 250, what: 'the subscription after garbage frames' },
    );
    expect(client.isOpen).toBe(true);
    expect(client.closed).toBeUndefined();
  });
});

describe('entity_deleted', () => {
  it('goes to every connection: firehose, subscribers of the entity and subscribers of other entities', async () => {
    const firehose = await connect();
    const subscribedToIt = await connect();
    const subscribedElsewhere = await connect();
    const id = `${unique('ws-del')}/thing`;
    const elsewhere = unique('ws-del-elsewhere');
    subscribedToIt.subscribe(id);
    subscribedElsewhere.subscribe(elsewhere);
    await waitFor(
      async () => {
        await publishOk(flux, id, { ping: Date.now() });
        await publishOk(flux, elsewhere, { ping: Date.now() });
        return subscribedToIt.matching(isStateUpdate(id)).length > 0 && subscribedElsewhere.matching(isStateUpdate(elsewhere)).length > 0;
      },
      { timeoutMs: 5_000, intervalMs: 250, what: 'the subscriptions' },
    );
    await waitForEntity(flux, id);
    expectStatus(await request(flux, 'DELETE', `/api/state/entities/${encodeURIComponent(id)}`), 200);
    for (const [name, client] of [
      ['firehose', firehose],
      ['subscriber', subscribedToIt],
      ['other subscriber', subscribedElsewhere],
    ] as const) {
      const message = await client.waitFor(isEntityDeleted(id), { what: `entity_deleted on the ${name}` });
      expect(message).toMatchObject({ type: 'entity_deleted', entity_id: id });
      expect(message.timestamp).toMatch(ISO_UTC);
    }
  });

  it('is sent for batch deletes and for {"__deleted__": true} events', async () => {
    const watcher = await connect();
    const other = await connect();
    other.subscribe(unique('ws-unrelated'));
    const ns = unique('ws-bdel');
    const tombstoned = unique('ws-tombstoned');
    await batchOk(flux, [envelope(`${ns}/a`, { n: 1 }), envelope(`${ns}/b`, { n: 1 }), envelope(tombstoned, { n: 1 })]);
    await waitForEntity(flux, `${ns}/a`);
    await waitForEntity(flux, `${ns}/b`);
    await waitForEntity(flux, tombstoned);
    expectStatus(await request(flux, 'POST', '/api/state/entities/delete', { json: { namespace: ns } }), 200);
    await publishOk(flux, tombstoned, { __deleted__: true });
    for (const id of [`${ns}/a`, `${ns}/b`, tombstoned]) {
      await watcher.waitFor(isEntityDeleted(id), { what: `entity_deleted ${id} (firehose)` });
      await other.waitFor(isEntityDeleted(id), { what: `entity_deleted ${id} (subscribed elsewhere)` });
    }
  });
});

describe('metrics_update', () => {
  const isNonNegativeInteger = (value: unknown): boolean => typeof value === 'number' && Number.isInteger(value) && value >= 0;

  function expectMetricsShape(message: Json): void {
    expect(message.type).toBe('metrics_update');
    expect(message.timestamp).toMatch(ISO_UTC);
    expect(isNonNegativeInteger(message.entities?.total), `entities.total in ${JSON.stringify(message)}`).toBe(true);
    expect(isNonNegativeInteger(message.events?.total), `events.total in ${JSON.stringify(message)}`).toBe(true);
    expect(
      typeof message.events?.rate_per_second === 'number' && message.events.rate_per_second >= 0,
      `events.rate_per_second in ${JSON.stringify(message)}`,
    ).toBe(true);
    expect(isNonNegativeInteger(message.websocket?.connections), `websocket.connections in ${JSON.stringify(message)}`).toBe(true);
    expect(isNonNegativeInteger(message.publishers?.active), `publishers.active in ${JSON.stringify(message)}`).toBe(true);
  }

  it('arrives within ~2.5 s on a fresh connection, then every 2 seconds, with the documented shape', async () => {
    const started = Date.now();
    const client = await connect();
    const first = await client.waitFor(isMetricsUpdate, { timeoutMs: 3_000, what: 'the first metrics_update' });
    expect(Date.now() - started).toBeLessThanOrEqual(3_000);
    expectMetricsShape(first);
    const firstAt = Date.now();
    const mark = client.mark();
    const second = await client.waitFor(isMetricsUpdate, { since: mark, timeoutMs: 3_500, what: 'the second metrics_update' });
    const gap = Date.now() - firstAt;
    expectMetricsShape(second);
    expect(gap).toBeGreaterThan(1_200);
    expect(gap).toBeLessThan(3_000);
  });

  it('goes to subscribed connections too', async () => {
    const client = await connect();
    client.subscribe(unique('ws-metrics-sub'));
    expectMetricsShape(await client.waitFor(isMetricsUpdate, { timeoutMs: 3_000 }));
  });

  it('counts the whole deployment: entities, events and open connections', async () => {
    const clients = [await connect(), await connect(), await connect()];
    const watcher = clients[0] as WsClient;
    const before = await watcher.waitFor(isMetricsUpdate, { timeoutMs: 3_000 });
    const prefix = unique('ws-count');
    await batchOk(
      flux,
      Array.from({ length: 30 }, (_, index) => envelope(`${prefix}/${index}`, { index })),
    );
    for (let index = 0; index < 30; index += 1) await waitForEntity(flux, `${prefix}/${index}`);
    const after = await watcher.waitFor(
      (message) =>
        isMetricsUpdate(message) && message.entities.total >= before.entities.total + 30 && message.events.total >= before.events.total + 30,
      { timeoutMs: 6_000, what: `metrics with +30 entities/events over ${JSON.stringify(before)}` },
    );
    expect(after.websocket.connections).toBeGreaterThanOrEqual(3);
    const listed = (await request(flux, 'GET', '/api/state/entities')).body as Json[];
    const counted = listed.filter((entity) => !String(entity.id).startsWith('flux-core/')).length;
    expect(after.entities.total).toBeGreaterThanOrEqual(counted);
    expect(after.entities.total).toBeLessThanOrEqual(listed.length);
  });

  it('rate_per_second is positive under traffic and decays to 0 when traffic stops', async () => {
    const client = await connect();
    const prefix = unique('ws-rate');
    const busy = await waitFor(
      async () => {
        await batchOk(
          flux,
          Array.from({ length: 50 }, (_, index) => envelope(`${prefix}/${index % 5}`, { index })),
        );
        const latest = client.matching(isMetricsUpdate).at(-1);
        return latest !== undefined && latest.events.rate_per_second > 0 ? latest : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'a positive rate_per_second under traffic' },
    );
    expect(busy.events.rate_per_second).toBeGreaterThan(0);
    const mark = client.mark();
    const idle = await client.waitFor((message) => isMetricsUpdate(message) && message.events.rate_per_second === 0, {
      since: mark,
      timeoutMs: 100_000,
      what: 'rate_per_second to decay to 0',
    });
    expectMetricsShape(idle);
  }, 130_000);
});

describe('slow consumers', () => {
  it('a subscriber that stops reading is bounded: the server drops its messages or closes it, it does not queue everything', async () => {
    const slow = await connect();
    slow.pause();
    const prefix = unique('ws-slow');
    const valueSize = 512 * 1024;
    const perBatch = 16;
    const batches = 12; // 192 updates of 512 KiB = 96 MiB, far above what kernel socket buffers hold
    const total = perBatch * batches;
    for (let batch = 0; batch < batches; batch += 1) {
      const events = Array.from({ length: perBatch }, (_, index) =>
        envelope(`${prefix}/${index % 8}`, { blob: String.fromCharCode(97 + (batch % 26)).repeat(valueSize), seq: batch * perBatch + index }),
      );
      const response = await request(flux, 'POST', '/api/events/batch', { json: { events }, timeoutMs: 60_000 });
      expectStatus(response, 200, `batch ${batch}`);
    }
    // The server stays healthy meanwhile.
    expectStatus(await request(flux, 'GET', '/health'), 200);
    slow.resume();
    const marker = `${prefix}-marker`;
    let attempt = 0;
    const outcome = await waitFor(
      async () => {
        if (slow.closed !== undefined) return 'closed';
        if (slow.matching(isStateUpdate(marker)).length > 0) return 'marker';
        attempt += 1;
        await publishOk(flux, marker, { attempt });
        return undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'the slow subscriber to catch up or be closed' },
    );
    if (outcome === 'marker') {
      const blobs = slow.matching(
        (message) => message?.type === 'state_update' && String(message.entity_id).startsWith(`${prefix}/`) && message.property === 'blob',
      );
      expect(
        blobs.length,
        `the paused subscriber got all ${total} queued 512 KiB updates: the server buffered ~96 MiB for one connection`,
      ).toBeLessThan(total);
    }
  }, 240_000);
});
