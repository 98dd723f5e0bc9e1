/** The generic HTTP JSON poller: configuration, mapping, pagination, conditional requests, errors. */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@flux/core';
import { configuredConnectors, HttpJsonConnector, httpJsonConfigFromEnv, type HttpJsonConnectorConfig } from '@flux/connectors';
import { openHarness, tempDir, type Harness, type TempDir } from './support/harness.js';
import { ManualClock } from './support/manual-clock.js';

interface Item {
  sku: string | number;
  name: string;
  price: number;
  changed: string;
  internal?: string;
}

let server: Server;
let baseUrl: string;
let items: Item[];
let pageSize: number;
let seen: { path: string; headers: IncomingMessage['headers']; status: number }[];
let answer: { status: number; headers?: Record<string, string> } | undefined;

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    const url = new URL(request.url ?? '/', baseUrl);
    const record = { path: url.pathname + url.search, headers: request.headers, status: 200 };
    seen.push(record);
    if (answer !== undefined) {
      record.status = answer.status;
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      response.end(JSON.stringify({ message: `status ${answer.status}` }));
      return;
    }
    const page = Number(url.searchParams.get('page') ?? 1);
    const body = { data: { items: items.slice((page - 1) * pageSize, page * pageSize) }, total: items.length };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (page * pageSize < items.length) headers.link = `</catalog?page=${page + 1}>; rel="next"`;
    const etag = `"${createHash('sha1')
      .update(JSON.stringify(body))
      .update(headers.link ?? '')
      .digest('hex')}"`;
    headers.etag = etag;
    if (request.headers['if-none-match'] === etag) {
      record.status = 304;
      response.writeHead(304, headers);
      response.end();
      return;
    }
    response.writeHead(200, headers);
    response.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

let dir: TempDir;
let harness: Harness | undefined;
let clock: ManualClock;

beforeEach(async () => {
  items = [
    { sku: 'a-1', name: 'Anvil', price: 10, changed: '2024-05-01T00:00:00Z', internal: 'x' },
    { sku: 'b-2', name: 'Bolt', price: 2, changed: '2024-05-02T00:00:00Z' },
    { sku: 3, name: 'Crate', price: 7, changed: '2024-05-03T00:00:00Z' },
  ];
  pageSize = 2;
  seen = [];
  answer = undefined;
  clock = new ManualClock(Date.parse('2024-06-01T00:00:00Z'));
  dir = await tempDir();
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await dir.remove();
});

const config = (overrides: Partial<HttpJsonConnectorConfig> = {}): HttpJsonConnectorConfig => ({
  name: 'catalog',
  url: `${baseUrl}/catalog`,
  itemsPath: ['data', 'items'],
  idField: 'sku',
  entityPrefix: 'shop/product',
  fields: ['name', 'price'],
  updatedField: 'changed',
  pollIntervalSeconds: 60,
  auth: { kind: 'bearer' },
  ...overrides,
});

describe('http-json configuration', () => {
  it('is absent unless FLUX_HTTP_CONNECTOR_URL is set', () => {
    expect(httpJsonConfigFromEnv({})).toBeUndefined();
    expect(
      configuredConnectors({ github: { apiUrl: 'https://api.github.com', pollIntervalSeconds: 300, oauth: undefined } }, {}).map(
        (connector) => connector.name,
      ),
    ).toEqual(['github']);
  });

  it('has defaults', () => {
    expect(httpJsonConfigFromEnv({ FLUX_HTTP_CONNECTOR_URL: 'https://example.com/items.json' })).toEqual({
      name: 'http-json',
      url: 'https://example.com/items.json',
      itemsPath: [],
      idField: 'id',
      entityPrefix: 'http-json',
      pollIntervalSeconds: 300,
      auth: { kind: 'bearer' },
    });
  });

  it('reads every option', () => {
    const parsed = httpJsonConfigFromEnv({
      FLUX_HTTP_CONNECTOR_URL: 'http://localhost:9/x',
      FLUX_HTTP_CONNECTOR_NAME: 'weather',
      FLUX_HTTP_CONNECTOR_ITEMS_PATH: 'data.stations',
      FLUX_HTTP_CONNECTOR_ID_FIELD: 'station_id',
      FLUX_HTTP_CONNECTOR_ENTITY_PREFIX: '/weather/station/',
      FLUX_HTTP_CONNECTOR_FIELDS: 'temp, wind ,',
      FLUX_HTTP_CONNECTOR_UPDATED_FIELD: 'observed',
      FLUX_HTTP_CONNECTOR_POLL_INTERVAL_SECONDS: '30',
      FLUX_HTTP_CONNECTOR_AUTH: 'header:X-Api-Key',
    });
    expect(parsed).toEqual({
      name: 'weather',
      url: 'http://localhost:9/x',
      itemsPath: ['data', 'stations'],
      idField: 'station_id',
      entityPrefix: 'weather/station',
      fields: ['temp', 'wind'],
      updatedField: 'observed',
      pollIntervalSeconds: 30,
      auth: { kind: 'header', name: 'x-api-key' },
    });
    const connectors = configuredConnectors(
      { github: { apiUrl: 'https://api.github.com', pollIntervalSeconds: 300, oauth: undefined } },
      { FLUX_HTTP_CONNECTOR_URL: 'http://localhost:9/x', FLUX_HTTP_CONNECTOR_NAME: 'weather' },
    );
    expect(connectors.map((connector) => [connector.name, connector.stream])).toEqual([
      ['github', 'connectors.github'],
      ['weather', 'connectors.weather'],
    ]);
    expect(new HttpJsonConnector(config({ name: 'http-json' })).stream).toBe('connectors.http.json');
  });

  it('names every bad variable', () => {
    let error: unknown;
    try {
      httpJsonConfigFromEnv({
        FLUX_HTTP_CONNECTOR_URL: 'ftp://example.com',
        FLUX_HTTP_CONNECTOR_NAME: 'github',
        FLUX_HTTP_CONNECTOR_POLL_INTERVAL_SECONDS: '0',
        FLUX_HTTP_CONNECTOR_AUTH: 'basic',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const variable of ['URL', 'NAME', 'POLL_INTERVAL_SECONDS', 'AUTH']) expect(problems).toContain(`FLUX_HTTP_CONNECTOR_${variable}`);
  });
});

describe('http-json connector', () => {
  it('is listed by ConnectorService when configured, and not_configured until a token is stored', async () => {
    harness = await openHarness(dir.path, { connectors: [new HttpJsonConnector(config())], clock });
    expect(await harness.connectorService.list('')).toEqual([{ name: 'catalog', enabled: false, status: 'not_configured' }]);
    expect(await harness.connectorService.detail('', 'catalog')).toMatchObject({ poll_interval_seconds: 60 });
  });

  it('maps the items of every page to entities, then sends conditional requests', async () => {
    harness = await openHarness(dir.path, { connectors: [new HttpJsonConnector(config())], clock });
    await harness.connectorService.storeToken('', 'catalog', { token: 'api-key-1' });
    const runtime = harness.runtime();
    await runtime.runOnce();
    await harness.settle();

    expect(seen.map((request) => request.path)).toEqual(['/catalog', '/catalog?page=2']);
    expect(seen.every((request) => request.headers.authorization === 'Bearer api-key-1')).toBe(true);
    expect((await harness.entity('shop/product/a-1'))?.properties).toEqual({ name: 'Anvil', price: 10 });
    expect((await harness.entity('shop/product/3'))?.properties).toEqual({ name: 'Crate', price: 7 });
    const events = await harness.events();
    expect(events).toHaveLength(3);
    expect(events.every((event) => event.stream === 'connectors.catalog')).toBe(true);
    expect(events.find((event) => event.payload.entity_id === 'shop/product/b-2')?.timestamp).toBe(Date.parse('2024-05-02T00:00:00Z'));
    expect(await harness.connectorService.detail('', 'catalog')).toMatchObject({ status: 'configured', enabled: true });

    clock.advance(60_000);
    seen = [];
    await runtime.runOnce();
    expect(seen.map((request) => [request.path, request.status])).toEqual([
      ['/catalog', 304],
      ['/catalog?page=2', 304],
    ]);
    expect(await harness.events()).toHaveLength(3);

    items[2]!.price = 8;
    clock.advance(60_000);
    await runtime.runOnce();
    await harness.settle();
    expect(await harness.events()).toHaveLength(4);
    expect((await harness.entity('shop/product/3'))?.properties).toEqual({ name: 'Crate', price: 8 });
  });

  it('publishes every field but the id by default, and namespaces ids in public mode', async () => {
    const connector = new HttpJsonConnector(config({ fields: undefined, auth: { kind: 'header', name: 'x-api-key' } }));
    harness = await openHarness(dir.path, { connectors: [connector], clock, authEnabled: true });
    await harness.embedded.control.createNamespace({ namespaceId: 'n', name: 'shopco', createdAt: clock.now(), tokenHash: 'z'.repeat(64) });
    await harness.connectorService.storeToken('shopco', 'catalog', { token: 'k-2' });
    await harness.runtime().runOnce();
    await harness.settle();
    expect(seen.every((request) => request.headers['x-api-key'] === 'k-2' && request.headers.authorization === undefined)).toBe(true);
    expect((await harness.entity('shopco/shop/product/a-1'))?.properties).toEqual({
      name: 'Anvil',
      price: 10,
      changed: '2024-05-01T00:00:00Z',
      internal: 'x',
    });
    expect((await harness.events()).every((event) => event.payload.entity_id.startsWith('shopco/'))).toBe(true);
  });

  it('a 401 is status error; a 429 with Retry-After waits that long', async () => {
    harness = await openHarness(dir.path, { connectors: [new HttpJsonConnector(config())], clock });
    await harness.connectorService.storeToken('', 'catalog', { token: 'wrong' });
    const runtime = harness.runtime();
    answer = { status: 401 };
    await runtime.runOnce();
    expect(await harness.connectorService.detail('', 'catalog')).toMatchObject({
      status: 'error',
      last_error: `127.0.0.1:${new URL(baseUrl).port} rejected the credential (401)`,
    });

    clock.advance(1);
    await harness.connectorService.storeToken('', 'catalog', { token: 'right' });
    answer = { status: 429, headers: { 'retry-after': '120' } };
    await runtime.runOnce();
    expect((await harness.connectorService.detail('', 'catalog')).status).toBe('configured');
    answer = undefined;
    seen = [];
    clock.advance(119_000);
    await runtime.runOnce();
    expect(seen).toHaveLength(0);
    clock.advance(1_000);
    await runtime.runOnce();
    expect(seen.length).toBeGreaterThan(0);
    await harness.settle();
    expect(await harness.events()).toHaveLength(3);
  });

  it('a response without an array at the items path is a clear error', async () => {
    harness = await openHarness(dir.path, { connectors: [new HttpJsonConnector(config({ itemsPath: ['data', 'nope'] }))], clock });
    await harness.connectorService.storeToken('', 'catalog', { token: 't' });
    await harness.runtime().runOnce();
    expect(await harness.connectorService.detail('', 'catalog')).toMatchObject({
      status: 'error',
      last_error: 'catalog: "data.nope" is not a JSON array',
    });
  });
});
