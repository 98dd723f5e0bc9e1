/**
 * Hostile input (issue 9): requests crafted to hurt a public instance. Each `defect N` test
 * reproduces one defect of the issue; the rest pin checks that already held. One public-mode
 * deployment with small WebSocket bounds serves the whole file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicEnv, startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import {
  batchOk,
  encodeId,
  envelope,
  get,
  getEntity,
  publish,
  publishOk,
  registerNamespace,
  request,
  unique,
  waitFor,
  waitForEntity,
  type ApiResponse,
} from './support/client.js';
import { expectError, expectStatus } from './support/expect.js';
import { WsClient, isStateUpdate } from './support/ws-client.js';

const ADMIN = 'hostile-admin-token-abcdefghijklmnop';
const MAX_CONNECTIONS_PER_ADDRESS = 6;
const MAX_SUBSCRIPTION_BYTES = 4096;

let flux: Deployment;
let ns: string;
let token: string;

beforeAll(async () => {
  flux = await startDeployment({
    env: publicEnv(ADMIN, {
      FLUX_RATE_LIMIT_ENABLED: 'false',
      FLUX_WS_MAX_CONNECTIONS_PER_ADDRESS: String(MAX_CONNECTIONS_PER_ADDRESS),
      FLUX_WS_MAX_SUBSCRIPTION_BYTES: String(MAX_SUBSCRIPTION_BYTES),
    }),
  });
  ns = unique('hostile');
  ({ token } = await registerNamespace(flux, ns, ADMIN));
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await flux?.dispose();
});

/** POSTs a raw JSON text (for bodies JSON.stringify cannot produce) with the namespace token. */
const postRaw = (path: string, body: string | Uint8Array): Promise<ApiResponse> =>
  request(flux, 'POST', path, { raw: body, token, headers: { 'content-type': 'application/json' } });

/** An envelope as JSON text whose properties are the given JSON text. */
const rawEnvelope = (entityId: string, propertiesJson: string): string =>
  `{"stream":"hostile.tests","source":"hostile-suite","timestamp":${Date.now()},"payload":{"entity_id":${JSON.stringify(entityId)},"properties":${propertiesJson}}}`;

/** `{"a": {"x": {"x": ... 1}}}` where the value of `a` nests `levels` levels deep. */
const nestedProperties = (levels: number): string => `{"a":${'{"x":'.repeat(levels - 1)}1${'}'.repeat(levels - 1)}}`;

const stillHealthy = async (): Promise<void> => expectStatus(await get(flux, '/health'), 200, 'health after the attack');

describe('defect 3: deeply nested JSON', () => {
  it('defect 3: a property nested 10,000 levels deep is a 400 naming the field', async () => {
    const response = await postRaw('/api/events', rawEnvelope(`${ns}/deep`, nestedProperties(10_000)));
    expect(expectError(response, 400)).toContain('payload.properties.a nests deeper than 64 levels');
    expectStatus(await getEntity(flux, `${ns}/deep`), 404, 'nothing applied');
    await stillHealthy();
  });

  it('defect 3: 64 levels are accepted and 65 refused', async () => {
    expectStatus(await postRaw('/api/events', rawEnvelope(`${ns}/deep-64`, nestedProperties(64))), 200, '64 levels');
    expectError(await postRaw('/api/events', rawEnvelope(`${ns}/deep-65`, nestedProperties(65))), 400, '65 levels');
    await waitForEntity(flux, `${ns}/deep-64`);
  });

  it('defect 3: a batch [good, deep, good] answers 200 with successful=2, failed=1 and applies both good events', async () => {
    const good = (id: string): string => JSON.stringify(envelope(id, { ok: true }));
    const body = `{"events":[${good(`${ns}/batch-good-1`)},${rawEnvelope(`${ns}/batch-deep`, nestedProperties(10_000))},${good(`${ns}/batch-good-2`)}]}`;
    const response = await postRaw('/api/events/batch', body);
    expectStatus(response, 200);
    expect(response.body.successful).toBe(2);
    expect(response.body.failed).toBe(1);
    expect(response.body.results[1].error).toContain('payload.properties.a nests deeper than 64 levels');
    await waitForEntity(flux, `${ns}/batch-good-1`, (entity) => entity.properties.ok === true);
    await waitForEntity(flux, `${ns}/batch-good-2`, (entity) => entity.properties.ok === true);
    expectStatus(await getEntity(flux, `${ns}/batch-deep`), 404, 'the deep element was not applied');
  });
});

describe('defect 4: long ids on read paths', () => {
  const longId = (): string => `${ns}/${'x'.repeat(4100)}`;

  it('defect 4: GET /api/state/entities/<id of 4.1 KB> is a 400 naming the id', async () => {
    expect(expectError(await get(flux, `/api/state/entities/${encodeId(longId())}`), 400)).toMatch(/id .*512/);
    expect(expectError(await get(flux, `/api/state/entities/${longId()}`), 400, 'raw-slash form')).toMatch(/512/);
    expectError(await request(flux, 'DELETE', `/api/state/entities/${encodeId(longId())}`, { token }), 400, 'DELETE');
  });

  it('defect 4: GET /api/events?entity=<2,000 characters> is a 400 naming the parameter', async () => {
    const response = await get(flux, `/api/events?entity=${encodeId(`${ns}/${'y'.repeat(2000)}`)}`);
    expect(expectError(response, 400)).toMatch(/entity .*512/);
  });

  it('defect 4: list filters and cursors are bounded (prefix, namespace, cursor)', async () => {
    const long = 'p'.repeat(4000);
    expect(expectError(await get(flux, `/api/state/entities?prefix=${long}`), 400)).toContain('prefix');
    expect(expectError(await get(flux, `/api/state/entities?namespace=${long}`), 400)).toContain('namespace');
    expect(expectError(await get(flux, `/api/state/entities?prefix=a%01b`), 400)).toContain('prefix');
    const forged = Buffer.from(JSON.stringify({ after: 'z'.repeat(3000) }), 'utf8').toString('base64url');
    expect(expectError(await get(flux, `/api/state/entities?limit=5&cursor=${forged}`), 400)).toContain('cursor');
    expect(expectError(await get(flux, `/api/state/entities?limit=5&cursor=${'A'.repeat(5_000)}`), 400)).toContain('cursor');
  });

  it('defect 4: malformed namespace and connector names are a 400', async () => {
    expect(expectError(await get(flux, `/api/namespaces/${'n'.repeat(90)}`), 400)).toContain('name');
    expectError(await get(flux, '/api/namespaces/Not%20A%20Name'), 400);
    expectError(await request(flux, 'DELETE', `/api/namespaces/${'n'.repeat(90)}`, { token: ADMIN }), 400);
    expect(expectError(await get(flux, `/api/connectors/${'c'.repeat(90)}`, { token }), 400)).toContain('name');
    // Past the router's parameter length the router itself answers, still with a JSON 4xx.
    expectError(await get(flux, `/api/namespaces/${'n'.repeat(3000)}`), [400, 414]);
  });
});

describe('defect 5: silent data changes', () => {
  it('defect 5: ids with lone surrogates are refused, not merged into one entity', async () => {
    for (const id of [`${ns}/lone\ud800`, `${ns}/lone\ud801`, `${ns}/lone\udc00x`]) {
      expect(expectError(await publish(flux, id, { n: 1 }, { token }), 400, JSON.stringify(id))).toContain('payload.entity_id');
    }
    expectStatus(await publish(flux, `${ns}/lone\ufffd`, { n: 1 }, { token }), 200, 'U+FFFD itself is a character');
    await waitForEntity(flux, `${ns}/lone\ufffd`, (entity) => entity.version === 1);
  });

  it('defect 5: lone surrogates in property names and string values at any depth are a 400 naming the field', async () => {
    const id = `${ns}/lone-props`;
    expect(expectError(await publish(flux, id, { 'bad\udfff': 1 }, { token }), 400)).toContain('payload.properties');
    expect(expectError(await publish(flux, id, { a: 'x\ud83d' }, { token }), 400)).toContain('payload.properties.a');
    expect(expectError(await publish(flux, id, { a: { b: ['ok', { c: '\udead' }] } }, { token }), 400)).toContain('payload.properties.a.b.1.c');
    expect(expectError(await publish(flux, id, { a: { ['k\ud800']: 1 } }, { token }), 400)).toContain('payload.properties.a');
    expect(expectError(await publish(flux, id, { a: 1 }, { token, source: 'src\ud800' }), 400)).toContain('source');
    expectStatus(await publish(flux, id, { emoji: '\ud83d\ude00', '\u{1F600}': 'astral ok' }, { token }), 200, 'paired surrogates');
  });

  it('defect 5: {"a": 1e400} is a 400 naming the field, not a silent removal of a', async () => {
    const id = `${ns}/infinite`;
    await publishOk(flux, id, { a: 1 }, { token });
    await waitForEntity(flux, id, (entity) => entity.properties.a === 1);
    expect(expectError(await postRaw('/api/events', rawEnvelope(id, '{"a":1e400}')), 400)).toContain('payload.properties.a');
    expect(expectError(await postRaw('/api/events', rawEnvelope(id, '{"a":{"b":[-1e999]}}')), 400)).toContain('payload.properties.a.b.0');
    expect((await getEntity(flux, id)).body.properties.a).toBe(1);
  });

  it('defect 5: a body with invalid UTF-8 bytes is a 400, not U+FFFD', async () => {
    const text = Buffer.from(rawEnvelope(`${ns}/bad-utf8-XX`, '{"a":"YY"}'), 'utf8');
    const bytes = Buffer.from(text.toString('latin1').replace('XX', '\u00ff\u00fe').replace('YY', '\u00c3('), 'latin1');
    expectError(await postRaw('/api/events', bytes), 400);
    expectStatus(await getEntity(flux, `${ns}/bad-utf8-\ufffd\ufffd`), 404, 'nothing stored under a replaced id');
  });
});

describe('defect 6: WebSocket memory', () => {
  it('defect 6: a subscribe with an invalid id is ignored (never stored; the firehose stays on)', async () => {
    const client = await WsClient.connect(flux.wsUrl);
    try {
      client.subscribe('s'.repeat(60_000));
      client.subscribe(`${ns}/lone\ud800`);
      client.subscribe(`${ns}/ctl\u0001`);
      const id = `${ns}/ws-firehose`;
      // A connection whose subscribes were all ignored never subscribed: it still gets everything.
      await waitFor(
        async () => {
          const since = client.mark();
          await publishOk(flux, id, { n: since }, { token });
          await client.waitFor(isStateUpdate(id, 'n'), { since, timeoutMs: 2_000 });
          return true;
        },
        { what: 'a firehose update after invalid subscribes', timeoutMs: 10_000 },
      );
      expect(client.isOpen).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('defect 6: subscriptions past the per-connection byte bound are ignored', async () => {
    const client = await WsClient.connect(flux.wsUrl);
    try {
      const filler = (i: number): string => `${ns}/${String(i).padStart(400, 'f')}`;
      const fillers = Math.ceil(MAX_SUBSCRIPTION_BYTES / 400) + 1;
      for (let i = 0; i < fillers; i++) client.subscribe(filler(i));
      // As long as a filler: it cannot fit in what the fillers left.
      const beyond = `${ns}/${'b'.repeat(400)}`;
      client.subscribe(beyond);
      const within = filler(0);
      const since = client.mark();
      await publishOk(flux, beyond, { n: 1 }, { token });
      await publishOk(flux, within, { n: 1 }, { token });
      await client.waitFor(isStateUpdate(within, 'n'), { since });
      expect(await client.collectDuring(isStateUpdate(beyond), 500, since)).toEqual([]);
      expect(client.isOpen).toBe(true);
    } finally {
      await client.close();
    }
  });

  it(`defect 6: WebSocket connections past ${MAX_CONNECTIONS_PER_ADDRESS} per client address are refused with 429`, async () => {
    const clients: WsClient[] = [];
    try {
      // Earlier tests' sockets may still be closing on the server side.
      clients.push(await waitFor(() => WsClient.connect(flux.wsUrl)));
      // Each gateway process counts its own connections (the cluster runs several behind a balancer).
      let refusal: unknown;
      while (refusal === undefined && clients.length <= 4 * MAX_CONNECTIONS_PER_ADDRESS) {
        try {
          clients.push(await WsClient.connect(flux.wsUrl));
        } catch (error) {
          refusal = error;
        }
      }
      expect(String(refusal)).toMatch(/HTTP 429/);
      expect(clients.length).toBeGreaterThanOrEqual(MAX_CONNECTIONS_PER_ADDRESS);
      await clients.pop()!.close();
      clients.push(await waitFor(() => WsClient.connect(flux.wsUrl), { what: 'a connection once one closed' }));
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });
});

describe('checks that already held', () => {
  it('prototype-polluting property names are stored as plain data and harm nothing', async () => {
    const id = `${ns}/proto`;
    const properties = '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"prototype":7,"plain":1}';
    expectStatus(await postRaw('/api/events', rawEnvelope(id, properties)), 200);
    const entity = await waitForEntity(flux, id);
    const stored = JSON.parse(JSON.stringify(entity.properties)) as Record<string, unknown>;
    expect(Object.keys(stored).sort()).toEqual(['__proto__', 'constructor', 'plain', 'prototype']);
    expect(JSON.parse((await getEntity(flux, id)).text).properties).toMatchObject({ prototype: 7, plain: 1 });
    await publishOk(flux, `${ns}/after-proto`, { n: 1 }, { token });
    const other = await waitForEntity(flux, `${ns}/after-proto`);
    expect(Object.keys(other.properties)).toEqual(['n']);
    expect(other.polluted).toBeUndefined();
    await stillHealthy();
  });

  it('an oversized body is a 413 JSON error', async () => {
    const big = rawEnvelope(`${ns}/big`, JSON.stringify({ blob: 'b'.repeat(1_100_000) }));
    expectError(await postRaw('/api/events', big), 413);
  });

  it('token misuse: another namespace is 403, an unknown token 401, the admin token is no namespace token', async () => {
    const other = unique('hostile-b');
    await registerNamespace(flux, other, ADMIN);
    expectError(await publish(flux, `${other}/stolen`, { n: 1 }, { token }), 403, 'token of A writing B');
    expectError(await publish(flux, `${ns}/x`, { n: 1 }, { token: 'not-a-token' }), 401, 'unknown token');
    expectError(await publish(flux, `${ns}/x`, { n: 1 }, { token: ADMIN }), 401, 'admin token');
    expectError(await request(flux, 'DELETE', `/api/state/entities/${encodeId(`${other}/stolen`)}`, { token }), 403, 'delete in B');
    const batch = await batchOk(flux, [envelope(`${other}/stolen`, { n: 1 })], token);
    expect(batch.failed).toBe(1);
    expectStatus(await getEntity(flux, `${other}/stolen`), 404);
  });
});
