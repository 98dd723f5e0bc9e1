/** @flux/client in public mode (namespaces, tokens, connectors, rate limits) and every error class. */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, publicEnv, startDeployment, STARTUP_TIMEOUT_MS, TEST_ENCRYPTION_KEY, type Deployment } from '../support/deployment.js';
import { unique } from '../support/client.js';
import { FluxClient, FluxError, FluxHttpError, FluxNetworkError, FluxTimeoutError } from '@flux/client';

const ADMIN_TOKEN = 'client-suite-admin-token';
let deployment: Deployment;
let admin: FluxClient;

beforeAll(async () => {
  deployment = await startDeployment({
    env: publicEnv(ADMIN_TOKEN, { FLUX_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, FLUX_GITHUB_API_URL: 'http://127.0.0.1:9' }),
  });
  admin = new FluxClient({ url: deployment.baseUrl, adminToken: ADMIN_TOKEN });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await deployment?.dispose();
});

const caught = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );

describe('namespaces and tokens', () => {
  it('create, get with its entity count, delete; the token writes only its own namespace', async () => {
    const name = unique('ns');
    const created = await admin.namespaces.create(name);
    expect(created).toMatchObject({ name, namespaceId: expect.any(String), token: expect.any(String) });
    const owner = new FluxClient({ url: deployment.baseUrl, token: created.token });
    await owner.publish({ entityId: `${name}/sensor`, properties: { a: 1 } });
    const namespace = await admin.namespaces.get(name);
    expect(namespace).toMatchObject({ name, createdAt: expect.any(String), entityCount: expect.any(Number) });

    const forbidden = await caught(owner.publish({ entityId: `${unique('elsewhere')}/x`, properties: { a: 1 } }));
    expect(forbidden).toBeInstanceOf(FluxHttpError);
    expect(forbidden).toMatchObject({ status: 403, code: 'FLUX_FORBIDDEN' });

    await admin.namespaces.delete(name);
    expect(await admin.namespaces.get(name)).toBeUndefined();
    expect(await caught(owner.publish({ entityId: `${name}/sensor`, properties: { a: 2 } }))).toMatchObject({ status: 401 });
  });

  it('maps 400, 401 and 409 to FluxHttpError with the server codes', async () => {
    const anonymous = new FluxClient({ url: deployment.baseUrl });
    expect(await caught(anonymous.publish({ entityId: 'any/thing', properties: {} }))).toMatchObject({ status: 401, code: 'FLUX_UNAUTHORIZED' });
    expect(await caught(anonymous.namespaces.create(unique('nope')))).toMatchObject({ status: 401, code: 'FLUX_UNAUTHORIZED' });
    expect(await caught(admin.namespaces.create('X!'))).toMatchObject({ status: 400, code: 'FLUX_VALIDATION' });
    const name = unique('taken');
    await admin.namespaces.create(name);
    expect(await caught(admin.namespaces.create(name))).toMatchObject({ status: 409, code: 'FLUX_CONFLICT' });
    expect(await caught(anonymous.admin.setConfig({ rate_limit_enabled: true }))).toMatchObject({ status: 401 });
  });

  it('a batch under a valid token refuses elements outside the namespace one by one', async () => {
    const name = unique('bns');
    const { token } = await admin.namespaces.create(name);
    const owner = new FluxClient({ url: deployment.baseUrl, token });
    const result = await owner.batch([
      { entityId: `${name}/a`, properties: { n: 1 } },
      { entityId: `${unique('other')}/b`, properties: { n: 2 } },
    ]);
    expect(result).toMatchObject({ accepted: 1, refused: 1 });
    expect(result.results[1]).toMatchObject({ index: 1, ok: false, error: expect.any(String) });
  });

  it('a rate-limited publish is a retryable 429 with Retry-After', async () => {
    const name = unique('rate');
    const { token } = await admin.namespaces.create(name);
    const owner = new FluxClient({ url: deployment.baseUrl, token });
    const before = await admin.admin.getConfig();
    try {
      await admin.admin.setConfig({ rate_limit_enabled: true, rate_limit_per_namespace_per_minute: 1 });
      await owner.publish({ entityId: `${name}/a`, properties: { n: 1 } });
      const error = await caught(owner.publish({ entityId: `${name}/a`, properties: { n: 2 } }));
      expect(error).toBeInstanceOf(FluxHttpError);
      expect(error).toMatchObject({ status: 429, code: 'FLUX_RATE_LIMITED', retryable: true });
      expect((error as FluxHttpError).retryAfterSeconds).toBeGreaterThan(0);
    } finally {
      await admin.admin.setConfig(before);
    }
  });
});

describe('connectors', () => {
  it('a namespace stores and removes a connector credential', async () => {
    const name = unique('conn');
    const { token } = await admin.namespaces.create(name);
    const owner = new FluxClient({ url: deployment.baseUrl, token });
    expect((await owner.connectors.list()).find((connector) => connector.name === 'github')).toMatchObject({ status: 'not_configured' });
    await owner.connectors.setToken('github', 'ghp_example');
    expect((await owner.connectors.get('github')).enabled).toBe(true);
    await owner.connectors.deleteToken('github');
    expect(await caught(owner.connectors.deleteToken('github'))).toMatchObject({ status: 404, code: 'FLUX_NOT_FOUND' });
    expect(await caught(new FluxClient({ url: deployment.baseUrl }).connectors.list())).toMatchObject({ status: 401 });
  });
});

/** A local server for the failures Flux itself never produces; closed after the test. */
async function withServer<T>(server: Server | ReturnType<typeof createTcpServer>, use: (url: string) => Promise<T>): Promise<T> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  try {
    return await use(`http://127.0.0.1:${address.port}`);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('errors without a Flux answer', () => {
  it('a closed port is a FluxNetworkError naming the cause', async () => {
    const client = new FluxClient({ url: `http://127.0.0.1:${await freePort()}` });
    const error = await caught(client.health());
    expect(error).toBeInstanceOf(FluxNetworkError);
    expect(error).not.toBeInstanceOf(FluxTimeoutError);
    expect(error).toMatchObject({ code: 'FLUX_NETWORK', retryable: true });
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('a server that never answers is a FluxTimeoutError after timeoutMs', async () => {
    await withServer(createTcpServer(), async (url) => {
      const error = await caught(new FluxClient({ url, timeoutMs: 200 }).get('a'));
      expect(error).toBeInstanceOf(FluxTimeoutError);
      expect(error).toBeInstanceOf(FluxNetworkError);
      expect(error).toMatchObject({ code: 'FLUX_TIMEOUT_CLIENT', timeoutMs: 200 });
    });
  });

  it('an aborted request is a FluxNetworkError FLUX_ABORTED, not retryable', async () => {
    await withServer(createTcpServer(), async (url) => {
      const controller = new AbortController();
      const pending = caught(new FluxClient({ url, maxBatchBytes: 1_000 }).batch([{ entityId: 'a', properties: {} }], { signal: controller.signal }));
      controller.abort();
      expect(await pending).toMatchObject({ name: 'FluxNetworkError', code: 'FLUX_ABORTED', retryable: false });
    });
  });

  it('a 200 that is not JSON is a FluxError FLUX_BAD_RESPONSE; a plain-text 502 a FluxHttpError', async () => {
    const server = createHttpServer((request, response) => {
      if (request.url === '/health') response.writeHead(200, { 'content-type': 'text/html' }).end('<html>not flux</html>');
      else response.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
    });
    await withServer(server, async (url) => {
      const client = new FluxClient({ url });
      const bad = await caught(client.health());
      expect(bad).toBeInstanceOf(FluxError);
      expect(bad).not.toBeInstanceOf(FluxHttpError);
      expect(bad).toMatchObject({ code: 'FLUX_BAD_RESPONSE' });
      const gateway = await caught(client.get('x'));
      expect(gateway).toMatchObject({ name: 'FluxHttpError', status: 502, code: 'HTTP_502', message: 'bad gateway', retryable: true });
    });
  });

  it('a watch whose WebSocket cannot be created rejects its iteration', async () => {
    class Broken {
      constructor(url: string) {
        throw new Error(`cannot open ${url}`);
      }
    }
    const watch = new FluxClient({ url: deployment.baseUrl, WebSocket: Broken }).watch();
    await expect(watch.next()).rejects.toThrow(/cannot open ws:\/\/127\.0\.0\.1:\d+\/api\/ws/);
  });
});
