/** Contract section 1: events (envelope validation, POST /api/events, POST /api/events/batch). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import { UUID_V7, envelope, get, publish, request, unique, waitForEntity, type Json } from './support/client.js';
import { expectError, expectStatus, POSITION_FIELDS } from './support/expect.js';

let flux: Deployment;

beforeAll(async () => {
  flux = await startDeployment();
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await flux?.dispose();
});

const postEvent = (body: unknown, headers: Record<string, string> = {}) =>
  request(flux, 'POST', '/api/events', {
    raw: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });

async function history(id: string): Promise<Json[]> {
  const response = await get(flux, `/api/events?entity=${encodeURIComponent(id)}`);
  expectStatus(response, 200, 'history');
  return response.body as Json[];
}

describe('POST /api/events (1.2)', () => {
  it('answers 200 {eventId, stream} and the state follows', async () => {
    const id = `${unique('ev-ok')}/sensor`;
    const response = await postEvent(envelope(id, { temperature: 22.5 }, { stream: 'sensors' }));
    expectStatus(response, 200);
    expect(response.body).toEqual({ eventId: expect.any(String), stream: 'sensors', ...POSITION_FIELDS });
    const entity = await waitForEntity(flux, id);
    expect(entity.properties).toEqual({ temperature: 22.5 });
  });

  it('generates a UUIDv7 eventId when it is absent or empty', async () => {
    const id = unique('ev-uuid');
    const absent = await postEvent(envelope(id, { a: 1 }));
    expectStatus(absent, 200);
    expect(absent.body.eventId).toMatch(UUID_V7);
    const empty = await postEvent({ ...envelope(id, { a: 2 }), eventId: '' });
    expectStatus(empty, 200);
    expect(empty.body.eventId).toMatch(UUID_V7);
    expect(empty.body.eventId).not.toBe(absent.body.eventId);
  });

  it('keeps a given eventId and stores and echoes key and schema', async () => {
    const id = unique('ev-meta');
    const eventId = `custom-${unique('id')}`;
    const response = await postEvent(
      envelope(id, { a: 1 }, { eventId, key: 'group-7', schema: 'sensor.v2', stream: 'meta.data', source: 'src-1', timestamp: 1_700_000_000_123 }),
    );
    expectStatus(response, 200);
    expect(response.body).toEqual({ eventId, stream: 'meta.data', ...POSITION_FIELDS });
    await waitForEntity(flux, id);
    const events = await history(id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      eventId,
      stream: 'meta.data',
      source: 'src-1',
      timestamp: 1_700_000_000_123,
      key: 'group-7',
      schema: 'sensor.v2',
      payload: { entity_id: id, properties: { a: 1 } },
    });
  });

  it.each([
    ['application/x-www-form-urlencoded (curl -d)', 'application/x-www-form-urlencoded'],
    ['text/plain', 'text/plain'],
    ['application/json; charset=utf-8', 'application/json; charset=utf-8'],
  ])('parses the body as JSON whatever the Content-Type: %s', async (_label, contentType) => {
    const id = unique('ev-ctype');
    const response = await request(flux, 'POST', '/api/events', {
      raw: JSON.stringify(envelope(id, { via: contentType })),
      headers: { 'content-type': contentType },
    });
    expectStatus(response, 200);
    await waitForEntity(flux, id, (entity) => entity.properties.via === contentType);
  });

  it('parses the body as JSON when no Content-Type is sent', async () => {
    const id = unique('ev-noctype');
    const response = await request(flux, 'POST', '/api/events', { raw: new TextEncoder().encode(JSON.stringify(envelope(id, { b: true }))) });
    expectStatus(response, 200);
    await waitForEntity(flux, id);
  });

  it.each(['sensors', 'a.b.c', 'v1.2', '0', 'x9.y8'])('accepts stream %j', async (stream) => {
    const response = await postEvent(envelope(unique('ev-stream'), { a: 1 }, { stream }));
    expectStatus(response, 200);
    expect(response.body.stream).toBe(stream);
  });

  const base = () => envelope(unique('ev-bad'), { a: 1 });
  const invalid: Array<[string, () => unknown, string]> = [
    ['stream missing', () => ({ ...base(), stream: undefined }), 'stream'],
    ['stream empty', () => ({ ...base(), stream: '' }), 'stream'],
    ['stream uppercase', () => ({ ...base(), stream: 'Sensors' }), 'stream'],
    ['stream leading dot', () => ({ ...base(), stream: '.sensors' }), 'stream'],
    ['stream trailing dot', () => ({ ...base(), stream: 'sensors.' }), 'stream'],
    ['stream double dot', () => ({ ...base(), stream: 'a..b' }), 'stream'],
    ['stream with dash', () => ({ ...base(), stream: 'my-stream' }), 'stream'],
    ['stream not a string', () => ({ ...base(), stream: 42 }), 'stream'],
    ['source missing', () => ({ ...base(), source: undefined }), 'source'],
    ['source empty', () => ({ ...base(), source: '' }), 'source'],
    ['source not a string', () => ({ ...base(), source: 7 }), 'source'],
    ['timestamp missing', () => ({ ...base(), timestamp: undefined }), 'timestamp'],
    ['timestamp zero', () => ({ ...base(), timestamp: 0 }), 'timestamp'],
    ['timestamp negative', () => ({ ...base(), timestamp: -5 }), 'timestamp'],
    ['timestamp fractional', () => ({ ...base(), timestamp: 1_700_000_000_000.5 }), 'timestamp'],
    ['timestamp string', () => ({ ...base(), timestamp: '1700000000000' }), 'timestamp'],
    ['timestamp ISO string', () => ({ ...base(), timestamp: '2026-01-01T00:00:00Z' }), 'timestamp'],
    ['payload missing', () => ({ ...base(), payload: undefined }), 'payload'],
    ['payload not an object', () => ({ ...base(), payload: 'x' }), 'payload'],
    ['payload an array', () => ({ ...base(), payload: [] }), 'payload'],
    ['payload without entity_id', () => ({ ...base(), payload: { properties: { a: 1 } } }), 'entity_id'],
    ['entity_id not a string', () => ({ ...base(), payload: { entity_id: 12, properties: { a: 1 } } }), 'entity_id'],
    ['entity_id empty', () => ({ ...base(), payload: { entity_id: '', properties: { a: 1 } } }), 'entity_id'],
    ['entity_id 513 characters', () => ({ ...base(), payload: { entity_id: 'x'.repeat(513), properties: { a: 1 } } }), 'entity_id'],
    ['entity_id with a newline', () => ({ ...base(), payload: { entity_id: 'bad\nid', properties: { a: 1 } } }), 'entity_id'],
    ['entity_id with NUL', () => ({ ...base(), payload: { entity_id: 'bad\u0000id', properties: { a: 1 } } }), 'entity_id'],
    ['entity_id with DEL', () => ({ ...base(), payload: { entity_id: 'bad\u007fid', properties: { a: 1 } } }), 'entity_id'],
    ['entity_id with tab', () => ({ ...base(), payload: { entity_id: 'bad\tid', properties: { a: 1 } } }), 'entity_id'],
    ['payload without properties', () => ({ ...base(), payload: { entity_id: unique('ev-bad') } }), 'properties'],
    ['properties null', () => ({ ...base(), payload: { entity_id: unique('ev-bad'), properties: null } }), 'properties'],
    ['properties an array', () => ({ ...base(), payload: { entity_id: unique('ev-bad'), properties: [1, 2] } }), 'properties'],
    ['properties a string', () => ({ ...base(), payload: { entity_id: unique('ev-bad'), properties: 'a=1' } }), 'properties'],
    ['empty property name', () => ({ ...base(), payload: { entity_id: unique('ev-bad'), properties: { '': 1 } } }), 'propert'],
    [
      'payload with extra fields (must be exactly {entity_id, properties})',
      () => ({ ...base(), payload: { entity_id: unique('ev-bad'), properties: { a: 1 }, extra: true } }),
      'payload',
    ],
    ['eventId not a string', () => ({ ...base(), eventId: 12 }), 'eventId'],
    ['key not a string', () => ({ ...base(), key: 12 }), 'key'],
    ['schema not a string', () => ({ ...base(), schema: {} }), 'schema'],
    ['body a JSON array', () => [base()], ''],
    ['body a JSON string', () => 'just text', ''],
  ];

  it.each(invalid)('rejects %s with 400 naming the field', async (_label, build, field) => {
    const body = build();
    const response = await postEvent(JSON.stringify(body));
    const message = expectError(response, 400);
    if (field !== '') expect(message.toLowerCase(), `error message should name "${field}"`).toContain(field.toLowerCase());
  });

  it('rejected events never change state', async () => {
    const id = unique('ev-nostate');
    const response = await postEvent({ ...envelope(id, { a: 1 }), stream: 'BAD' });
    expectError(response, 400);
    const good = unique('ev-after');
    expectStatus(await publish(flux, good, { ok: true }), 200);
    await waitForEntity(flux, good);
    expect((await get(flux, `/api/state/entities/${encodeURIComponent(id)}`)).status).toBe(404);
  });

  it('accepts an entity_id of exactly 512 characters and non-ASCII ids', async () => {
    const long = `${unique('ev-long')}-`.padEnd(512, 'y');
    expect(long).toHaveLength(512);
    expectStatus(await publish(flux, long, { a: 1 }), 200);
    await waitForEntity(flux, long);
    const unicode = `${unique('ev-uni')}/ünïcødé 雪 ☃ #?%&+`;
    expectStatus(await publish(flux, unicode, { a: 1 }), 200);
    const entity = await waitForEntity(flux, unicode);
    expect(entity.id).toBe(unicode);
  });

  it('treats __proto__ and other special property names as plain data', async () => {
    const id = unique('ev-proto');
    const raw = `{"stream":"s","source":"t","timestamp":${Date.now()},"payload":{"entity_id":"${id}","properties":{"__proto__":{"polluted":true},"constructor":"c","toString":1,"hasOwnProperty":false,"normal":1}}}`;
    expectStatus(await postEvent(raw), 200);
    await waitForEntity(flux, id);
    const text = (await get(flux, `/api/state/entities/${encodeURIComponent(id)}`)).text;
    const properties = JSON.parse(text).properties as Record<string, unknown>;
    expect(Object.hasOwn(properties, '__proto__'), `__proto__ must be an own property; body ${text}`).toBe(true);
    expect(properties.__proto__).toEqual({ polluted: true });
    expect(properties.constructor).toBe('c');
    expect(properties.toString).toBe(1);
    expect(properties.hasOwnProperty).toBe(false);
    expect(properties.normal).toBe(1);
    // The server itself was not polluted.
    const other = unique('ev-proto-check');
    expectStatus(await publish(flux, other, { x: 1 }), 200);
    const fresh = await waitForEntity(flux, other);
    expect(fresh.properties).toEqual({ x: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers 413 with a JSON error for a body above 1 MiB, and accepts one just below', async () => {
    const id = unique('ev-size');
    const overhead = JSON.stringify(envelope(id, { blob: '' })).length;
    const below = JSON.stringify(envelope(id, { blob: 'a'.repeat(1_048_576 - overhead - 16) }));
    expect(below.length).toBeLessThan(1_048_576);
    expectStatus(await postEvent(below), 200);
    const above = JSON.stringify(envelope(id, { blob: 'b'.repeat(1_048_576 - overhead + 16) }));
    expect(above.length).toBeGreaterThan(1_048_576);
    expectError(await postEvent(above), 413);
    const entity = await waitForEntity(flux, id);
    expect((entity.properties.blob as string)[0]).toBe('a');
  });
});

describe('POST /api/events/batch (1.3)', () => {
  const postBatch = (body: unknown, contentType = 'application/json') =>
    request(flux, 'POST', '/api/events/batch', {
      raw: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': contentType },
    });

  it.each([
    ['events missing', {}],
    ['events not an array', { events: { a: 1 } }],
    ['events a string', { events: 'x' }],
    ['events empty', { events: [] }],
    ['body an array', [{ stream: 's' }]],
    ['body null', null],
  ])('rejects %s with 400', async (_label, body) => {
    expectError(await postBatch(body), 400);
  });

  it('returns one result per input in order; bad elements never fail the others', async () => {
    const prefix = unique('batch-mixed');
    const events = [
      envelope(`${prefix}/a`, { n: 1 }, { stream: 'one' }),
      { ...envelope(`${prefix}/bad-stream`, { n: 2 }), stream: 'NOPE' },
      envelope(`${prefix}/b`, { n: 3 }, { stream: 'two.x' }),
      { stream: 'x', source: 's', timestamp: Date.now(), payload: { entity_id: `${prefix}/no-props` } },
      'not an object',
      envelope(`${prefix}/c`, { n: 6 }, { eventId: 'given-id-1', stream: 'three' }),
      { ...envelope(`${prefix}/bad-ts`, { n: 7 }), timestamp: -1 },
    ];
    const response = await postBatch({ events });
    expectStatus(response, 200);
    const body = response.body as Json;
    expect(body.successful).toBe(3);
    expect(body.failed).toBe(4);
    expect(body.results).toHaveLength(events.length);
    const results = body.results as Json[];
    expect(results[0]).toEqual({ eventId: expect.stringMatching(UUID_V7), stream: 'one', ...POSITION_FIELDS });
    expect(results[1].error).toEqual(expect.stringContaining('stream'));
    expect(results[2]).toEqual({ eventId: expect.stringMatching(UUID_V7), stream: 'two.x', ...POSITION_FIELDS });
    expect(results[3].error).toEqual(expect.stringContaining('properties'));
    expect(typeof results[4].error).toBe('string');
    expect(results[5]).toEqual({ eventId: 'given-id-1', stream: 'three', ...POSITION_FIELDS });
    expect(results[6].error).toEqual(expect.stringContaining('timestamp'));
    for (const failed of [results[1], results[3], results[4], results[6]]) {
      expect(failed.error.length).toBeGreaterThan(0);
      expect(failed.successful).toBeUndefined();
    }
    await waitForEntity(flux, `${prefix}/a`);
    await waitForEntity(flux, `${prefix}/b`);
    await waitForEntity(flux, `${prefix}/c`);
    for (const bad of ['bad-stream', 'no-props', 'bad-ts']) {
      expect((await get(flux, `/api/state/entities/${encodeURIComponent(`${prefix}/${bad}`)}`)).status).toBe(404);
    }
  });

  it('applies the events of one batch in array order', async () => {
    const id = unique('batch-order');
    const events = Array.from({ length: 40 }, (_, index) => envelope(id, { step: index, [`p${index % 3}`]: index }));
    const body = await postBatch({ events });
    expectStatus(body, 200);
    expect(body.body.successful).toBe(40);
    const entity = await waitForEntity(flux, id, (value) => value.version === 40);
    expect(entity.properties).toEqual({ step: 39, p0: 39, p1: 37, p2: 38 });
    const history = await get(flux, `/api/events?entity=${encodeURIComponent(id)}&limit=500`);
    expect((history.body as Json[]).map((event) => event.payload.properties.step)).toEqual(Array.from({ length: 40 }, (_, index) => 39 - index));
  });

  it('parses a curl-style form-urlencoded batch body as JSON', async () => {
    const id = unique('batch-form');
    const response = await postBatch({ events: [envelope(id, { form: true })] }, 'application/x-www-form-urlencoded');
    expectStatus(response, 200);
    expect(response.body.successful).toBe(1);
    await waitForEntity(flux, id);
  });

  it('accepts a body just under 10 MiB (the limit is reachable) and rejects one over it with 413', async () => {
    const prefix = unique('batch-big');
    const limit = 10 * 1024 * 1024;
    const count = 20;
    const build = (targetSize: number): string => {
      const skeleton = JSON.stringify({ events: Array.from({ length: count }, (_, index) => envelope(`${prefix}/${index}`, { blob: '' })) });
      const each = Math.floor((targetSize - skeleton.length) / count);
      const events = Array.from({ length: count }, (_, index) => envelope(`${prefix}/${index}`, { blob: String(index % 10).repeat(each) }));
      let body = JSON.stringify({ events });
      const missing = targetSize - body.length;
      if (missing > 0) body = `${body.slice(0, -1)}${' '.repeat(missing)}}`;
      return body;
    };
    const under = build(limit - 512);
    expect(under.length).toBeLessThan(limit);
    expect(under.length).toBeGreaterThan(limit - 1024);
    const accepted = await request(flux, 'POST', '/api/events/batch', {
      raw: under,
      headers: { 'content-type': 'application/json' },
      timeoutMs: 60_000,
    });
    expectStatus(accepted, 200);
    expect(accepted.body.successful).toBe(count);
    expect(accepted.body.failed).toBe(0);
    await waitForEntity(flux, `${prefix}/${count - 1}`, undefined, { timeoutMs: 20_000 });

    const over = build(limit + 512);
    expect(over.length).toBeGreaterThan(limit);
    const rejected = await request(flux, 'POST', '/api/events/batch', {
      raw: over,
      headers: { 'content-type': 'application/json' },
      timeoutMs: 60_000,
    });
    expectError(rejected, 413);
  }, 120_000);
});
