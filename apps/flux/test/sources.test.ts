/** HTTP sources through the API (/api/connectors/sources), against a local HTTP fixture server. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicEnv, startDeployment, STARTUP_TIMEOUT_MS, TEST_ENCRYPTION_KEY, type Deployment } from './support/deployment.js';
import { get, getEntity, ISO_UTC, registerNamespace, request, unique, waitFor, waitForEntity, waitForGone, type Json } from './support/client.js';
import { expectError, expectStatus } from './support/expect.js';

const ADMIN = 'sources-admin-token-0123456789';
/** The fixture Singer tap (`tap-fixture`) is found through PATH, as installed taps are. */
const TAP_DIR = fileURLToPath(new URL('../../../libs/connectors/test/fixtures', import.meta.url));
const tapEnv = { FLUX_CONNECTOR_TAPS: 'tap-fixture', PATH: `${TAP_DIR}:${process.env.PATH ?? ''}` };
const SECRET = 'source-secret-never-returned-0123';

interface Feed {
  items: Record<string, unknown>[];
  readonly requests: IncomingMessage['headers'][];
}

/** Serves `/feeds/<name>` as `{"data": {"items": [...]}}` with an ETag, recording each request's headers. */
class FeedServer {
  private server!: Server;
  url = '';
  readonly feeds = new Map<string, Feed>();

  feed(name: string, items: Record<string, unknown>[]): Feed {
    const feed = { items, requests: [] };
    this.feeds.set(name, feed);
    return feed;
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      request.resume();
      const feed = this.feeds.get(new URL(request.url ?? '/', 'http://x').pathname.replace('/feeds/', ''));
      if (feed === undefined) {
        response.writeHead(404).end();
        return;
      }
      feed.requests.push(request.headers);
      const body = JSON.stringify({ data: { items: feed.items } });
      const etag = `"${Buffer.from(body).toString('base64url').slice(-24)}-${body.length}"`;
      if (request.headers['if-none-match'] === etag) {
        response.writeHead(304, { etag }).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json', etag }).end(body);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const feeds = new FeedServer();
let pub: Deployment; // public, private networks allowed for the fixture
let strict: Deployment; // internal, private networks refused
let ns: { name: string; token: string };
let other: { name: string; token: string };

beforeAll(async () => {
  await feeds.start();
  [pub, strict] = await Promise.all([
    startDeployment({
      env: publicEnv(ADMIN, { FLUX_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, FLUX_CONNECTOR_ALLOW_PRIVATE_NETWORKS: 'true', ...tapEnv }),
    }),
    startDeployment({ env: { FLUX_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } }),
  ]);
  [ns, other] = await Promise.all([registerNamespace(pub, unique('src'), ADMIN), registerNamespace(pub, unique('srco'), ADMIN)]);
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([pub?.dispose(), strict?.dispose()]);
  await feeds.close();
});

const create = (target: Deployment, body: unknown, token?: string) =>
  request(target, 'POST', '/api/connectors/sources', { json: body, ...(token === undefined ? {} : { token }) });
const patch = (id: string, body: unknown, token = ns.token) => request(pub, 'PATCH', `/api/connectors/sources/${id}`, { json: body, token });
const detail = async (id: string, token = ns.token): Promise<Json> => {
  const response = await get(pub, `/api/connectors/sources/${id}`, { token });
  expectStatus(response, 200, `GET source ${id}`);
  return response.body;
};
const feedUrl = (name: string): string => `${feeds.url}/feeds/${name}`;

/** Creates a source over a new feed and returns its id. */
async function createSource(feedName: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await create(
    pub,
    {
      name: feedName,
      url: feedUrl(feedName),
      poll_interval_seconds: 3600,
      entity_key: '$.id',
      entity_prefix: feedName,
      items_path: '$.data.items',
      ...extra,
    },
    ns.token,
  );
  expectStatus(response, 201, 'POST source');
  return response.body.id as string;
}

describe('HTTP sources: validation and ownership', () => {
  it('requires a namespace token in public mode', async () => {
    expectError(await get(pub, '/api/connectors/sources'), 401);
    expectError(await create(pub, { name: 'x', url: feedUrl('x'), poll_interval_seconds: 60, entity_key: '$.id' }), 401);
  });

  it.each([
    ['no url', { name: 'n', poll_interval_seconds: 60, entity_key: '$.id' }],
    ['a ftp url', { name: 'n', url: 'ftp://example.com/x', poll_interval_seconds: 60, entity_key: '$.id' }],
    ['credentials in the url', { name: 'n', url: 'http://u:p@127.0.0.1/x', poll_interval_seconds: 60, entity_key: '$.id' }],
    ['an interval below the minimum', { name: 'n', url: 'http://127.0.0.1/x', poll_interval_seconds: 1, entity_key: '$.id' }],
    ['a bad JSONPath', { name: 'n', url: 'http://127.0.0.1/x', poll_interval_seconds: 60, entity_key: '$[' }],
    [
      'a regex function',
      { name: 'n', url: 'http://127.0.0.1/x', poll_interval_seconds: 60, entity_key: '$.id', items_path: '$[?match(@.a, "a.*")]' },
    ],
    ['bearer auth without a token', { name: 'n', url: 'http://127.0.0.1/x', poll_interval_seconds: 60, entity_key: '$.id', auth: 'bearer' }],
    ['an unknown field', { name: 'n', url: 'http://127.0.0.1/x', poll_interval_seconds: 60, entity_key: '$.id', cron: '* * *' }],
    ['a too long expression', { name: 'n', url: 'http://127.0.0.1/x', poll_interval_seconds: 60, entity_key: `$.${'a'.repeat(300)}` }],
  ])('refuses %s with 400', async (_label, body) => {
    expectError(await create(pub, body, ns.token), 400);
  });

  it('refuses loopback URLs, literal or by name, with 400 FLUX_ADDRESS_NOT_ALLOWED unless private networks are allowed', async () => {
    const port = new URL(feeds.url).port;
    for (const url of [`http://127.0.0.1:${port}/feeds/x`, `http://localhost:${port}/feeds/x`, `http://[::1]:${port}/feeds/x`]) {
      const refused = await create(strict, { name: 'loop', url, poll_interval_seconds: 60, entity_key: '$.id' });
      expectError(refused, 400, url);
      expect(refused.body.code).toBe('FLUX_ADDRESS_NOT_ALLOWED');
    }
    expect((await get(strict, '/api/connectors/sources')).body).toEqual({ sources: [] });
  });

  it('deleting a namespace deletes its sources: a namespace registered again under the name has none', async () => {
    const doomed = await registerNamespace(pub, unique('srcd'), ADMIN);
    expectStatus(await create(pub, { name: 'd', url: feedUrl('none'), poll_interval_seconds: 3600, entity_key: '$.id' }, doomed.token), 201);
    expectStatus(await request(pub, 'DELETE', `/api/namespaces/${doomed.name}`, { token: ADMIN }), [200, 204]);
    const again = await registerNamespace(pub, doomed.name, ADMIN);
    expect((await get(pub, '/api/connectors/sources', { token: again.token })).body).toEqual({ sources: [] });
  });

  it('GET, PATCH and DELETE of another namespace’s or an unknown source are 404', async () => {
    const id = await createSource(unique('own'));
    expectError(await get(pub, `/api/connectors/sources/${id}`, { token: other.token }), 404);
    expectError(await patch(id, { paused: true }, other.token), 404);
    expectError(await request(pub, 'DELETE', `/api/connectors/sources/${id}`, { token: other.token }), 404);
    expect((await get(pub, '/api/connectors/sources', { token: other.token })).body).toEqual({ sources: [] });
    expectError(await get(pub, '/api/connectors/sources/not-a-source', { token: ns.token }), 404);
    expectStatus(await request(pub, 'DELETE', `/api/connectors/sources/${id}`, { token: ns.token }), 200);
    expectError(await get(pub, `/api/connectors/sources/${id}`, { token: ns.token }), 404);
  });
});

describe('HTTP sources: polling', () => {
  it('publishes each item as a namespaced entity, sends the credential, and never returns it', async () => {
    const name = unique('feed');
    const feed = feeds.feed(name, [
      { id: 'a', temp: 1, secret: 'x' },
      { id: 'b', temp: 2, secret: 'y' },
    ]);
    const created = await create(
      pub,
      {
        name,
        url: feedUrl(name),
        poll_interval_seconds: 3600,
        entity_key: '$.id',
        entity_prefix: name,
        items_path: '$.data.items',
        properties: { temperature: '$.temp' },
        auth: { header: 'X-Api-Key' },
        token: SECRET,
      },
      ns.token,
    );
    expectStatus(created, 201);
    expect(created.text).not.toContain(SECRET);
    expect(created.body).toMatchObject({
      name,
      auth: { header: 'x-api-key' },
      has_token: true,
      status: 'active',
      on_disappear: 'keep',
      paused: false,
    });

    const entity = await waitForEntity(pub, `${ns.name}/${name}/b`, undefined, { timeoutMs: 20_000 });
    expect(entity.properties).toEqual({ temperature: 2 });
    expect(feed.requests[0]?.['x-api-key']).toBe(SECRET);

    const shown = await waitFor(
      async () => {
        const value = await detail(created.body.id);
        return value.items_seen === 2 ? value : undefined;
      },
      { what: 'items_seen 2' },
    );
    expect(shown.last_poll).toMatch(ISO_UTC);
    expect(shown.last_error).toBeNull();
    const listed = await get(pub, '/api/connectors/sources', { token: ns.token });
    expect(listed.body.sources.map((source: Json) => source.id)).toContain(created.body.id);
    expect(listed.text).not.toContain(SECRET);
  });

  it('PATCH polls again at once, with the ETag; pause and resume show in the status', async () => {
    const name = unique('etag');
    const feed = feeds.feed(name, [{ id: 'a', v: 1 }]);
    const id = await createSource(name);
    await waitForEntity(pub, `${ns.name}/${name}/a`, undefined, { timeoutMs: 20_000 });
    const changed = await patch(id, { poll_interval_seconds: 1800 });
    expectStatus(changed, 200);
    expect(changed.body.poll_interval_seconds).toBe(1800);
    await waitFor(() => feed.requests.length >= 2, { timeoutMs: 20_000, what: 'a second request' });
    expect(feed.requests[1]?.['if-none-match']).toBeDefined();

    expect((await patch(id, { paused: true })).body).toMatchObject({ paused: true, status: 'paused' });
    expect((await patch(id, { paused: false })).body).toMatchObject({ paused: false, status: 'active' });
  });

  it('on_disappear delete removes an entity whose item is gone; mark sets the property', async () => {
    const gone = unique('del');
    const deleting = feeds.feed(gone, [{ id: 'a' }, { id: 'b' }]);
    const deletingId = await createSource(gone, { on_disappear: 'delete' });
    const marked = unique('mark');
    const marking = feeds.feed(marked, [{ id: 'a' }, { id: 'b' }]);
    const markingId = await createSource(marked, { on_disappear: { mark: 'gone' } });
    await waitForEntity(pub, `${ns.name}/${gone}/b`, undefined, { timeoutMs: 20_000 });
    await waitForEntity(pub, `${ns.name}/${marked}/b`, undefined, { timeoutMs: 20_000 });

    deleting.items = [{ id: 'a' }];
    marking.items = [{ id: 'a' }];
    expectStatus(await patch(deletingId, { poll_interval_seconds: 1200 }), 200);
    expectStatus(await patch(markingId, { poll_interval_seconds: 1200 }), 200);
    await waitForGone(pub, `${ns.name}/${gone}/b`, { timeoutMs: 20_000 });
    const flagged = await waitForEntity(pub, `${ns.name}/${marked}/b`, (value) => value.properties.gone === true, { timeoutMs: 20_000 });
    expect(flagged.properties).toEqual({ id: 'b', gone: true });
    expect((await getEntity(pub, `${ns.name}/${gone}/a`)).status).toBe(200);
  });

  it('a failing source shows status error with last_error', async () => {
    const id = await createSource(unique('missing'));
    const failed = await waitFor(
      async () => {
        const value = await detail(id);
        return value.status === 'error' ? value : undefined;
      },
      { timeoutMs: 20_000, what: 'status error' },
    );
    expect(failed.last_error).toMatch(/404/);
  });

  it(
    'sources survive a restart and keep polling',
    async () => {
      const name = unique('durable');
      const feed = feeds.feed(name, [{ id: 'a', v: 1 }]);
      const id = await createSource(name, { poll_interval_seconds: 5 });
      await waitForEntity(pub, `${ns.name}/${name}/a`, undefined, { timeoutMs: 20_000 });
      await pub.restart();
      feed.items = [{ id: 'a', v: 2 }];
      const updated = await waitForEntity(pub, `${ns.name}/${name}/a`, (value) => value.properties.v === 2, { timeoutMs: 30_000 });
      expect(updated.properties).toEqual({ id: 'a', v: 2 });
      expect((await detail(id)).name).toBe(name);
    },
    STARTUP_TIMEOUT_MS + 60_000,
  );
});

describe('Singer taps', () => {
  const createTap = (body: unknown, token = ns.token) => request(pub, 'POST', '/api/connectors/taps', { json: body, token });

  it('refuses a tap that is not allowed, and malformed bodies', async () => {
    expectError(await createTap({ tap: 'tap-other', config: {}, entity_key_field: 'id', poll_interval_seconds: 60 }), 400);
    expectError(await createTap({ tap: 'not-a-tap', config: {}, entity_key_field: 'id', poll_interval_seconds: 60 }), 400);
    expectError(await createTap({ tap: 'tap-fixture', config: 'x', entity_key_field: 'id', poll_interval_seconds: 60 }), 400);
    expectError(
      await request(strict, 'POST', '/api/connectors/taps', {
        json: { tap: 'tap-fixture', config: {}, entity_key_field: 'id', poll_interval_seconds: 60 },
      }),
      400,
    );
  });

  it('runs the tap: records become entities, the config is never returned, the bookmark is passed back', async () => {
    const prefix = unique('tap');
    const created = await createTap({
      tap: 'tap-fixture',
      config: { secret: SECRET },
      entity_key_field: 'id',
      entity_prefix: prefix,
      stream_filter: ['people'],
      poll_interval_seconds: 3600,
    });
    expectStatus(created, 201);
    expect(created.text).not.toContain(SECRET);
    expect(created.body).toMatchObject({ tap: { name: 'tap-fixture', entity_key_field: 'id', stream_filter: ['people'] }, status: 'active' });
    const first = await waitForEntity(pub, `${ns.name}/${prefix}/people/2`, undefined, { timeoutMs: 20_000 });
    expect(first.properties).toEqual({ id: 2, name: 'person 2' });
    expect((await getEntity(pub, `${ns.name}/${prefix}/meta/config`)).status).toBe(404);
    // A change polls again at once; the state bookmark makes the tap emit the next records.
    expectStatus(await patch(created.body.id, { poll_interval_seconds: 1800 }), 200);
    await waitForEntity(pub, `${ns.name}/${prefix}/people/4`, undefined, { timeoutMs: 20_000 });
    expectError(await patch(created.body.id, { url: 'http://example.com/' }), 400);
    expect((await get(pub, `/api/connectors/sources/${created.body.id}`, { token: ns.token })).text).not.toContain(SECRET);
  });

  it('a failing tap shows its stderr as last_error', async () => {
    const created = await createTap({ tap: 'tap-fixture', config: { mode: 'fail' }, entity_key_field: 'id', poll_interval_seconds: 3600 });
    expectStatus(created, 201);
    const failed = await waitFor(
      async () => {
        const value = await detail(created.body.id);
        return value.last_error !== null ? value : undefined;
      },
      { timeoutMs: 20_000, what: 'last_error' },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\nserver: ${pub.output().slice(-4000)}`);
    });
    expect(failed.last_error).toMatch(/boom: the API refused the credential/);
  });
});
