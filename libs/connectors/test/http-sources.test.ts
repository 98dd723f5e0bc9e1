/** HTTP sources: address checks, redirects, item mapping, conditional polls, disappear policies, errors. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkFetchTarget, CredentialVault, isBlockedAddress, SourceService, type DisappearPolicy, type StoredSource } from '@flux/core';
import { MemoryPollLease } from '@flux/embedded';
import {
  ConnectorError,
  CredentialRejectedError,
  DEFAULT_SOURCE_LIMITS,
  guardedFetch,
  HttpSourceConnector,
  itemsAt,
  mapItem,
  pollLeaseKey,
  RateLimitedError,
  retryAfterOf,
  silentConnectorLogger,
  SourceTargets,
  type Cursors,
  type PollResult,
} from '@flux/connectors';
import { ENCRYPTION_KEY, openHarness, tempDir } from './support/harness.js';
import { ManualClock } from './support/manual-clock.js';

interface Seen {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
}

type Handler = (request: IncomingMessage, url: URL) => { status: number; headers?: Record<string, string>; body?: string };

class Fixture {
  server!: Server;
  url = '';
  seen: Seen[] = [];
  handler: Handler = () => ({ status: 404 });

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      request.resume();
      const url = new URL(request.url ?? '/', this.url);
      this.seen.push({ path: url.pathname + url.search, headers: request.headers });
      const answer = this.handler(request, url);
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      response.end(answer.body ?? '');
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const a = new Fixture();
const b = new Fixture();
beforeAll(async () => {
  await Promise.all([a.start(), b.start()]);
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
});
beforeEach(() => {
  a.seen = [];
  b.seen = [];
});

describe('address policy', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '[::ffff:169.254.169.254]',
    '64:ff9b::a00:1',
    '2002:a00:1::1',
    'not-an-address',
  ])('blocks %s', (address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows %s', (address) => {
    expect(isBlockedAddress(address)).toBe(false);
  });

  it('refuses a literal or resolved loopback target with FLUX_ADDRESS_NOT_ALLOWED unless private networks are allowed', async () => {
    for (const url of ['http://127.0.0.1:1/x', 'http://[::1]:1/x', 'http://[::ffff:7f00:1]/x', 'http://localhost:1/x']) {
      await expect(checkFetchTarget(new URL(url), false), url).rejects.toMatchObject({ code: 'FLUX_ADDRESS_NOT_ALLOWED' });
      await expect(checkFetchTarget(new URL(url), true)).resolves.toBeUndefined();
    }
  });
});

describe('guarded fetch', () => {
  it('refuses loopback targets, literal or resolved by DNS, on the connection itself', async () => {
    a.handler = () => ({ status: 200, body: '[]' });
    const guarded = guardedFetch({ allowPrivateNetworks: false });
    await expect(guarded(`${a.url}/items`)).rejects.toMatchObject({ code: 'FLUX_ADDRESS_NOT_ALLOWED' });
    const port = new URL(a.url).port;
    await expect(guarded(`http://localhost:${port}/items`)).rejects.toThrow(/loopback|fetch failed/);
    expect(a.seen).toEqual([]);
  });

  it('follows a bounded number of redirects and drops every credential header when the origin changes', async () => {
    a.handler = (_request, url) =>
      url.pathname === '/loop' ? { status: 302, headers: { location: '/loop' } } : { status: 307, headers: { location: `${b.url}/target` } };
    b.handler = () => ({ status: 200, body: '{"ok":true}' });
    const guarded = guardedFetch({ allowPrivateNetworks: true });
    const response = await guarded(`${a.url}/start`, { headers: { authorization: 'Bearer secret', 'x-api-key': 'k' } });
    expect(await response.json()).toEqual({ ok: true });
    expect(a.seen[0]?.headers.authorization).toBe('Bearer secret');
    expect(b.seen[0]?.headers.authorization).toBeUndefined();
    expect(b.seen[0]?.headers['x-api-key']).toBeUndefined();

    a.seen = [];
    await expect(guarded(`${a.url}/loop`)).rejects.toThrow(/more than 3 redirects/);
    expect(a.seen).toHaveLength(4);
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterOf('30', 1_000)).toBe(31_000);
    expect(retryAfterOf(new Date(90_000).toUTCString(), 1_000)).toBe(90_000);
    expect(retryAfterOf('soon', 1_000)).toBeUndefined();
    expect(retryAfterOf(null, 1_000)).toBeUndefined();
  });
});

describe('item mapping', () => {
  const mapping = { entityKey: '$.id', entityPrefix: 'stations', properties: null };

  it('takes the array an items_path selects, or the items it selects', () => {
    const body = { data: { items: [{ id: 1 }, { id: 2 }] } };
    expect(itemsAt(body, '$.data.items')).toEqual([{ id: 1 }, { id: 2 }]);
    expect(itemsAt(body, '$.data.items[?@.id > 1]')).toEqual([{ id: 2 }]);
    expect(itemsAt([{ id: 1 }], null)).toEqual([{ id: 1 }]);
    expect(itemsAt({ id: 1 }, null)).toBeUndefined();
    expect(itemsAt(body, '$.nothing')).toBeUndefined();
  });

  it('keys an item by one string or number and publishes all fields, or only the mapped ones', () => {
    expect(mapItem({ id: 7, temp: 3.5 }, mapping)).toEqual({ ok: true, key: 'stations/7', properties: { id: 7, temp: 3.5 } });
    const mapped = mapItem(
      { meta: { code: 'x1' }, readings: [{ t: 1 }, { t: 2 }], name: 'n' },
      {
        entityKey: '$.meta.code',
        entityPrefix: '',
        properties: { temps: '$.readings[*].t', first: '$.readings[0].t', label: '$["name"]', missing: '$.nope' },
      },
    );
    expect(mapped).toEqual({ ok: true, key: 'x1', properties: { temps: [1, 2], first: 1, label: 'n' } });
  });

  it.each([
    ['no key', { name: 'x' }],
    ['an empty key', { id: '' }],
    ['an object key', { id: { a: 1 } }],
    ['a boolean key', { id: true }],
  ])('skips an item with %s', (_label, item) => {
    expect(mapItem(item, mapping).ok).toBe(false);
  });

  it('never publishes a __deleted__ field of an item', () => {
    expect(mapItem({ id: 1, __deleted__: true }, mapping)).toEqual({ ok: true, key: 'stations/1', properties: { id: 1 } });
  });
});

describe('HttpSourceConnector', () => {
  let items: { id: string; v: number }[];

  beforeEach(() => {
    items = [
      { id: 'a', v: 1 },
      { id: 'b', v: 2 },
      { id: 'c', v: 3 },
    ];
    a.handler = (request) => {
      const body = JSON.stringify({ items });
      const etag = `"${Buffer.from(body).toString('base64url').slice(-16)}"`;
      if (request.headers['if-none-match'] === etag) return { status: 304, headers: { etag } };
      return { status: 200, headers: { etag }, body };
    };
  });

  const connector = (onDisappear: DisappearPolicy, overrides: Partial<ConstructorParameters<typeof HttpSourceConnector>[0]> = {}) =>
    new HttpSourceConnector({
      id: 'src-1',
      url: `${a.url}/items`,
      entityKey: '$.id',
      entityPrefix: 'things',
      itemsPath: '$.items',
      properties: { value: '$.v' },
      pollIntervalSeconds: 60,
      auth: { kind: 'header', name: 'x-api-key' },
      onDisappear,
      limits: DEFAULT_SOURCE_LIMITS,
      fetch: guardedFetch({ allowPrivateNetworks: true }),
      ...overrides,
    });

  const clock = new ManualClock(1_000_000);
  const poll = (source: HttpSourceConnector, cursors: Cursors = {}): Promise<PollResult> =>
    source.poll({ token: 'key-1', owner: '', cursors, signal: new AbortController().signal, clock, logger: silentConnectorLogger });

  it('publishes each item, sends the credential, then polls conditionally', async () => {
    const source = connector({ kind: 'keep' });
    const first = await poll(source);
    expect(first.observations).toEqual([
      { entityId: 'things/a', properties: { value: 1 } },
      { entityId: 'things/b', properties: { value: 2 } },
      { entityId: 'things/c', properties: { value: 3 } },
    ]);
    expect(first.seen).toBe(3);
    expect(a.seen[0]?.headers['x-api-key']).toBe('key-1');

    const second = await poll(source, first.cursors);
    expect(a.seen[1]?.headers['if-none-match']).toBeDefined();
    expect(second.observations).toEqual([]);
    expect(second.seen).toBe(3);
  });

  it('keep: a vanished item publishes nothing', async () => {
    const source = connector({ kind: 'keep' });
    const first = await poll(source);
    items = items.filter((item) => item.id !== 'b');
    const second = await poll(source, first.cursors);
    expect(second.observations.map((o) => o.entityId)).toEqual(['things/a', 'things/c']);
    expect(second.seen).toBe(2);
  });

  it('mark: a vanished item gets the property, and loses it when it returns', async () => {
    const source = connector({ kind: 'mark', property: 'gone' });
    const first = await poll(source);
    expect(first.observations[0]).toEqual({ entityId: 'things/a', properties: { value: 1, gone: null } });
    const kept = items;
    items = items.filter((item) => item.id !== 'b');
    const second = await poll(source, first.cursors);
    expect(second.observations).toContainEqual({ entityId: 'things/b', properties: { gone: true } });
    items = kept;
    const third = await poll(source, second.cursors);
    expect(third.observations).toContainEqual({ entityId: 'things/b', properties: { value: 2, gone: null } });
  });

  it('delete: a vanished item becomes a tombstone, after a 304 too', async () => {
    const source = connector({ kind: 'delete' });
    const first = await poll(source);
    const unchanged = await poll(source, first.cursors);
    items = items.filter((item) => item.id !== 'c');
    const second = await poll(source, unchanged.cursors);
    expect(second.observations).toContainEqual({ entityId: 'things/c', properties: { __deleted__: true } });
    const third = await poll(source, second.cursors);
    expect(third.observations).toEqual([]);
  });

  it('a changed mapping fetches afresh (no 304 for the old one) yet still knows what disappeared', async () => {
    const first = await poll(connector({ kind: 'delete' }));
    items = items.filter((item) => item.id !== 'a');
    const remapped = await poll(connector({ kind: 'delete' }, { properties: { doubled: '$.v' } }), first.cursors);
    expect(a.seen[1]?.headers['if-none-match']).toBeUndefined();
    expect(remapped.observations).toEqual([
      { entityId: 'things/b', properties: { doubled: 2 } },
      { entityId: 'things/c', properties: { doubled: 3 } },
      { entityId: 'things/a', properties: { __deleted__: true } },
    ]);
  });

  it('an incomplete listing (more items than the limit) removes nothing', async () => {
    const source = connector({ kind: 'delete' }, { limits: { ...DEFAULT_SOURCE_LIMITS, maxItems: 2 } });
    const first = await poll(connector({ kind: 'delete' }));
    items = [{ id: 'a', v: 10 }, ...items.slice(1)];
    const second = await poll(source, first.cursors);
    expect(second.observations).toEqual([
      { entityId: 'things/a', properties: { value: 10 } },
      { entityId: 'things/b', properties: { value: 2 } },
    ]);
  });

  it('429 and 5xx with Retry-After wait as told; without it they are transient failures', async () => {
    a.handler = () => ({ status: 429, headers: { 'retry-after': '120' }, body: '{}' });
    await expect(poll(connector({ kind: 'keep' }))).rejects.toMatchObject({ name: 'RateLimitedError', until: clock.now() + 120_000 });
    a.handler = () => ({ status: 503, body: '{}' });
    const transient = await poll(connector({ kind: 'keep' })).catch((error: unknown) => error);
    expect(transient).toBeInstanceOf(ConnectorError);
    expect(transient).not.toBeInstanceOf(RateLimitedError);
    expect((transient as ConnectorError).permanent).toBe(false);
  });

  it('401 is a rejected credential; a 404 or an items_path selecting nothing is permanent', async () => {
    a.handler = () => ({ status: 401, body: '{}' });
    await expect(poll(connector({ kind: 'keep' }))).rejects.toBeInstanceOf(CredentialRejectedError);
    a.handler = () => ({ status: 404, body: '{"message":"no such feed"}' });
    await expect(poll(connector({ kind: 'keep' }))).rejects.toMatchObject({ permanent: true, message: /404: no such feed/ });
    a.handler = () => ({ status: 200, body: '{"other":[]}' });
    await expect(poll(connector({ kind: 'keep' }))).rejects.toMatchObject({ permanent: true, message: /items_path/ });
  });

  it('refuses a response larger than the byte limit', async () => {
    const source = connector({ kind: 'keep' }, { limits: { ...DEFAULT_SOURCE_LIMITS, maxBytes: 20 } });
    await expect(poll(source)).rejects.toThrow(/bytes/);
  });
});

describe('SourceTargets', () => {
  const stored = (overrides: Partial<StoredSource>): StoredSource => ({
    id: 'id-1',
    owner: 'ns',
    name: 's',
    url: 'http://example.test/',
    pollIntervalSeconds: 60,
    entityKey: '$.id',
    entityPrefix: '',
    itemsPath: null,
    properties: null,
    auth: { kind: 'none' },
    secret: null,
    onDisappear: { kind: 'keep' },
    paused: false,
    createdAt: 1,
    updatedAt: 1,
    ...overrides,
  });

  it('offers unpaused sources, with a new version after each change', async () => {
    let sources = [stored({}), stored({ id: 'id-2', paused: true })];
    const targets = new SourceTargets({
      control: { listSources: async () => sources, getSource: async (owner, id) => sources.find((s) => s.owner === owner && s.id === id) },
      secretOf: () => 'secret',
      allowPrivateNetworks: false,
    });
    const first = await targets.targets();
    expect(first.map((t) => t.connector.name)).toEqual(['source:id-1']);
    expect(await first[0]!.token()).toBe('secret');
    sources = [stored({ updatedAt: 2 })];
    expect(await first[0]!.isCurrent()).toBe(false);
    const second = await targets.targets();
    expect(second[0]!.version).not.toBe(first[0]!.version);
    expect(await second[0]!.isCurrent()).toBe(true);
    sources = [];
    expect(await second[0]!.token()).toBeUndefined();
  });
});

describe('sources in the runtime', () => {
  const feed = () => {
    a.handler = () => ({ status: 200, body: JSON.stringify([{ id: 'x', n: 1 }]) });
  };

  async function withSource<T>(clock: ManualClock | undefined, body: (context: Awaited<ReturnType<typeof setUp>>) => Promise<T>): Promise<T> {
    const context = await setUp(clock);
    try {
      return await body(context);
    } finally {
      await context.harness.close();
      await context.dir.remove();
    }
  }

  async function setUp(clock: ManualClock | undefined) {
    const dir = await tempDir();
    const harness = await openHarness(dir.path, { connectors: [], ...(clock === undefined ? {} : { clock }) });
    const { control } = harness.embedded;
    const sources = new SourceService(control, new CredentialVault(ENCRYPTION_KEY), {
      allowPrivateNetworks: true,
      ...(clock === undefined ? {} : { now: () => clock.now() }),
    });
    const created = await sources.create('', {
      name: 'feed',
      url: `${a.url}/items`,
      poll_interval_seconds: 300,
      entity_key: '$.id',
      entity_prefix: 'feed',
    });
    const targets = () => new SourceTargets({ control, secretOf: (source) => sources.secretOf(source), allowPrivateNetworks: true });
    return { dir, harness, sources, id: created.id, targets };
  }

  it('exactly one of two runtimes sharing a lease polls a source, and its items become entities', async () => {
    feed();
    await withSource(undefined, async ({ harness, sources, id, targets }) => {
      const lease = new MemoryPollLease();
      const one = harness.runtime({ lease, holder: 'process-1', sources: targets() });
      const two = harness.runtime({ lease, holder: 'process-2', sources: targets() });
      await Promise.all([one.runOnce(), two.runOnce()]);
      await Promise.all([one.runOnce(), two.runOnce()]);
      expect(a.seen).toHaveLength(1);
      await harness.settle();
      expect((await harness.entity('feed/x'))?.properties).toEqual({ id: 'x', n: 1 });
      expect(await sources.get('', id)).toMatchObject({ status: 'active', items_seen: 1, last_error: null });
    });
  });

  it('another process takes over a source when its poller dies (its lease expires)', async () => {
    feed();
    const clock = new ManualClock();
    await withSource(clock, async ({ harness, id, targets }) => {
      const lease = new MemoryPollLease(() => clock.now());
      expect(await lease.acquire(pollLeaseKey(`source:${id}`, ''), 'dead-process', 30_000)).toBe(true);
      const survivor = harness.runtime({ lease, holder: 'survivor', leaseTtlMs: 30_000, sources: targets() });
      await survivor.runOnce();
      expect(a.seen).toHaveLength(0);
      clock.advance(30_000);
      await survivor.runOnce();
      expect(a.seen).toHaveLength(1);
    });
  });
});
