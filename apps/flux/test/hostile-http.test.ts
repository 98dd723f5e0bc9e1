/** Issue 9, the HTTP surface: what a hostile or careless client can do to the server over HTTP. */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicEnv, startDeployment, STARTUP_TIMEOUT_MS, TEST_ENCRYPTION_KEY, type Deployment } from './support/deployment.js';
import { envelope, registerNamespace, request, unique, waitFor, type ApiResponse } from './support/client.js';
import { expectError, expectStatus } from './support/expect.js';

const ADMIN = 'hostile-admin-token-0123456789abcdef';
const TIMEOUT_MS = 1_000;
let pub: Deployment;

beforeAll(async () => {
  pub = await startDeployment({
    env: publicEnv(ADMIN, {
      FLUX_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      FLUX_HTTP_HEADERS_TIMEOUT_MS: String(TIMEOUT_MS),
      FLUX_HTTP_REQUEST_TIMEOUT_MS: String(2 * TIMEOUT_MS),
    }),
  });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await pub?.dispose();
});

const putConfig = (config: unknown): Promise<ApiResponse> => request(pub, 'PUT', '/api/admin/config', { json: config, token: ADMIN });

/** Opens a raw TCP connection to the deployment and collects what it answers. */
async function rawConnection(): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const { port } = new URL(pub.baseUrl);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => text, closed };
}

const statusLines = (text: string): string[] => text.match(/HTTP\/1\.1 \d{3}/g) ?? [];

describe('defect 1: admin lock-out', () => {
  it.each([
    ['body_size_limit_single_bytes', 0, 1024],
    ['body_size_limit_single_bytes', 60, 1024],
    ['body_size_limit_batch_bytes', 1024, 65_536],
    ['rate_limit_per_namespace_per_minute', 0, 1],
  ])('defect 1: PUT %s = %d is 400 naming the field and its floor %d', async (key, value, floor) => {
    const message = expectError(await putConfig({ [key]: value }), 400);
    expect(message).toContain(key);
    expect(message).toContain(String(floor));
  });

  it('defect 1: admin, namespace and connector routes keep working at the smallest allowed limits', async () => {
    expectStatus(await putConfig({ body_size_limit_single_bytes: 1024, body_size_limit_batch_bytes: 65_536 }), 200);
    try {
      // Bodies above the single-event limit: the control routes have their own fixed limit.
      const ns = await registerNamespace(pub, `lockout-${'n'.repeat(20)}`.slice(0, 30), ADMIN);
      const token = request(pub, 'POST', '/api/connectors/github/token', { json: { token: `ghp_${'x'.repeat(2_000)}` }, token: ns.token });
      expectStatus(await token, 200);
      expectStatus(await request(pub, 'DELETE', '/api/connectors/github/token', { token: ns.token }), 200);
      const ids = Array.from({ length: 200 }, (_, index) => `${ns.name}/${'e'.repeat(400)}-${index}`);
      expectStatus(await request(pub, 'POST', '/api/state/entities/delete', { json: { entity_ids: ids }, token: ns.token }), 200);
      expectStatus(await putConfig({ rate_limit_enabled: true }), 200);
      expectStatus(await request(pub, 'DELETE', `/api/namespaces/${ns.name}`, { token: ADMIN }), 204);
      // The event limit itself still applies to events.
      expectError(
        await request(pub, 'POST', '/api/events', { json: envelope(`${ns.name}/big`, { pad: 'p'.repeat(2_000) }), token: ns.token }),
        [401, 413],
      );
    } finally {
      expectStatus(await putConfig({ body_size_limit_single_bytes: 1_048_576, body_size_limit_batch_bytes: 10_485_760 }), 200);
    }
  });
});

describe('defect 8: errors leak nothing and carry a code and a request id', () => {
  it.each([
    ['GET', '/api/nope', undefined, 404, 'FLUX_NOT_FOUND'],
    ['POST', '/api/events', '{"broken": ', 400, 'FLUX_VALIDATION'],
    ['POST', '/api/events', JSON.stringify(envelope('x/y', {})), 401, 'FLUX_UNAUTHORIZED'],
    ['PUT', '/api/admin/config', '{"body_size_limit_single_bytes": 0}', 401, 'FLUX_UNAUTHORIZED'],
    ['GET', '/api/namespaces/nobody-here', undefined, 404, 'FLUX_NOT_FOUND'],
    ['DELETE', '/api/events', undefined, 405, 'FLUX_METHOD_NOT_ALLOWED'],
  ])('defect 8: %s %s answers {"error", "code"} and x-request-id', async (method, path, raw, status, code) => {
    const response = await request(pub, method, path, raw === undefined ? {} : { raw, headers: { 'content-type': 'application/json' } });
    expectError(response, status);
    expect(response.body.code).toBe(code);
    expect(response.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  });

  it('defect 8: a safe client request id is echoed, an unsafe one replaced', async () => {
    const mine = unique('req');
    expect((await request(pub, 'GET', '/health', { headers: { 'x-request-id': mine } })).headers.get('x-request-id')).toBe(mine);
    const unsafe = 'a'.repeat(300);
    const replaced = (await request(pub, 'GET', '/health', { headers: { 'x-request-id': unsafe } })).headers.get('x-request-id');
    expect(replaced).not.toBe(unsafe);
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('the OpenAPI error schema documents the code', async () => {
    const doc = (await request(pub, 'GET', '/api/openapi.json')).body;
    const error = doc.paths['/api/events'].post.responses['400'].content['application/json'].schema;
    expect(error.required).toEqual(['error', 'code']);
    expect(error.properties.code.enum).toContain('FLUX_VALIDATION');
    const history = doc.paths['/api/events'].get.responses['200'].content['application/json'].schema;
    expect(history.type).toBe('array');
  });
});

describe('hardening: 405, security and rate-limit headers', () => {
  it('a known path with a wrong method is 405 with Allow', async () => {
    const response = await request(pub, 'PATCH', '/api/admin/config', { json: {} });
    expectError(response, 405);
    expect(response.headers.get('allow')).toMatch(/GET/);
    expect(response.headers.get('allow')).toMatch(/PUT/);
  });

  it('every response carries nosniff, no-store and a restrictive CSP', async () => {
    for (const path of ['/health', '/api/nope', '/api/openapi.json']) {
      const response = await request(pub, 'GET', path);
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('cache-control'), path).toBe('no-store');
      expect(response.headers.get('content-security-policy'), path).toMatch(/default-src 'none'/);
    }
  });

  it('ingest responses in public mode carry X-RateLimit-Limit, -Remaining and -Reset', async () => {
    const ns = await registerNamespace(pub, unique('rlh'), ADMIN);
    const first = await request(pub, 'POST', '/api/events', { json: envelope(`${ns.name}/a`, { n: 1 }), token: ns.token });
    expectStatus(first, 200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('10000');
    const remaining = Number(first.headers.get('x-ratelimit-remaining'));
    expect(remaining).toBeGreaterThanOrEqual(9_990);
    expect(remaining).toBeLessThan(10_000);
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    const batch = await request(pub, 'POST', '/api/events/batch', {
      json: { events: [envelope(`${ns.name}/b`, { n: 1 }), envelope(`${ns.name}/c`, { n: 2 })] },
      token: ns.token,
    });
    expectStatus(batch, 200);
    expect(Number(batch.headers.get('x-ratelimit-remaining'))).toBeLessThan(remaining);
  });
});

describe('defect 9: an early reply leaves no poisoned connection', () => {
  it('defect 9: after a 413 on a keep-alive connection the next request on it is answered', async () => {
    const ns = await registerNamespace(pub, unique('poison'), ADMIN);
    const connection = await rawConnection();
    const body = JSON.stringify(envelope(`${ns.name}/big`, { pad: 'p'.repeat(131_000) }));
    expectStatus(await putConfig({ body_size_limit_single_bytes: 1024 }), 200);
    try {
      connection.socket.write(
        `POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${ns.token}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      await waitFor(() => statusLines(connection.received()).length >= 1);
      expect(statusLines(connection.received())[0]).toBe('HTTP/1.1 413');
      // Either the connection stays usable, or the server says it closes it and does.
      let closed = false;
      void connection.closed.then(() => (closed = true));
      connection.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitFor(() => statusLines(connection.received()).length >= 2 || closed);
      if (closed) expect(connection.received()).toMatch(/connection: close/i);
      else expect(statusLines(connection.received())[1]).toBe('HTTP/1.1 200');
    } finally {
      connection.socket.destroy();
      expectStatus(await putConfig({ body_size_limit_single_bytes: 1_048_576 }), 200);
    }
  });

  it('defect 9: requests without a body answered early (unknown path, wrong method) keep their connection open', async () => {
    const connection = await rawConnection();
    try {
      // Answered as soon as they arrive, before Node has marked them complete.
      connection.socket.write('GET /api/no-such-route HTTP/1.1\r\nHost: x\r\n\r\n');
      connection.socket.write('DELETE /health HTTP/1.1\r\nHost: x\r\n\r\n');
      connection.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      let closed = false;
      void connection.closed.then(() => (closed = true));
      await waitFor(() => statusLines(connection.received()).length >= 3 || closed);
      expect(statusLines(connection.received())).toEqual(['HTTP/1.1 404', 'HTTP/1.1 405', 'HTTP/1.1 200']);
      expect(connection.received()).not.toMatch(/connection: close/i);
    } finally {
      connection.socket.destroy();
    }
  });

  it('defect 9: a body declared far past the drain bound gets its 413 and a closed connection', async () => {
    const connection = await rawConnection();
    connection.socket.write(
      `POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${512 * 1024 * 1024}\r\n\r\n{"a":`,
    );
    await connection.closed;
    expect(statusLines(connection.received())[0]).toBe('HTTP/1.1 413');
    expect(connection.received()).toMatch(/connection: close/i);
  });
});

/**
 * Writes one byte every 200 ms until the server closes the connection: the server's cut (not
 * the test's) ends it, and the suite timeout bounds the wait.
 */
async function trickleUntilClosed(connection: Awaited<ReturnType<typeof rawConnection>>, byte: string): Promise<void> {
  const trickle = setInterval(() => connection.socket.write(byte), 200);
  try {
    await connection.closed;
  } finally {
    clearInterval(trickle);
  }
}

describe('defect 7: slow clients are cut', () => {
  it('defect 7: a body trickled one byte at a time is cut soon after the request timeout', async () => {
    const connection = await rawConnection();
    connection.socket.write('POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n');
    await trickleUntilClosed(connection, 'a');
    expect(connection.socket.bytesWritten).toBeLessThan(200);
  });

  it('defect 7: headers trickled one byte at a time are cut soon after the headers timeout', async () => {
    const connection = await rawConnection();
    connection.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
    await trickleUntilClosed(connection, 'X');
    expect(statusLines(connection.received())).toEqual(['HTTP/1.1 408']);
    expect(connection.received()).toContain('{"error":"the request was not received in time","code":"FLUX_TIMEOUT"}');
  });
});
