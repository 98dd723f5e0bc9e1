/** Contract sections 8 (limits and runtime configuration) and 11 (configuration from the environment). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicEnv, startDeployment, startExpectingFailure, STARTUP_TIMEOUT_MS, TEST_ENCRYPTION_KEY, type Deployment } from './support/deployment.js';
import {
  batchOk,
  envelope,
  get,
  getEntity,
  post,
  publish,
  registerNamespace,
  request,
  unique,
  waitFor,
  waitForEntity,
  type ApiResponse,
  type Json,
} from './support/client.js';
import { expectError, expectStatus, POSITION_FIELDS } from './support/expect.js';

const ADMIN = 'limits-admin-token-0123456789abcdef';
const DEFAULTS = {
  rate_limit_enabled: true,
  rate_limit_per_namespace_per_minute: 10_000,
  body_size_limit_single_bytes: 1_048_576,
  body_size_limit_batch_bytes: 10_485_760,
};

let pub: Deployment; // public mode, admin token, default config
let internal: Deployment; // internal mode, admin token, config from the environment
let disabled: Deployment; // public mode, FLUX_RATE_LIMIT_ENABLED=false

beforeAll(async () => {
  [pub, internal, disabled] = await Promise.all([
    startDeployment({ env: publicEnv(ADMIN) }),
    startDeployment({
      env: {
        FLUX_ADMIN_TOKEN: ADMIN,
        FLUX_RATE_LIMIT_ENABLED: 'true',
        FLUX_RATE_LIMIT_PER_NAMESPACE_PER_MINUTE: '2',
        FLUX_BODY_SIZE_LIMIT_SINGLE_BYTES: '4096',
        FLUX_BODY_SIZE_LIMIT_BATCH_BYTES: '65536',
      },
    }),
    startDeployment({ env: publicEnv(ADMIN, { FLUX_RATE_LIMIT_ENABLED: 'false', FLUX_RATE_LIMIT_PER_NAMESPACE_PER_MINUTE: '1' }) }),
  ]);
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([pub?.dispose(), internal?.dispose(), disabled?.dispose()]);
});

/** PUT /api/admin/config; `token` null sends no Authorization header. */
const putConfig = (target: Deployment, update: unknown, token: string | null = ADMIN) =>
  request(target, 'PUT', '/api/admin/config', { json: update, ...(token === null ? {} : { token }) });

async function setConfig(target: Deployment, update: Record<string, unknown>): Promise<Json> {
  const response = await putConfig(target, update);
  expectStatus(response, 200, `PUT /api/admin/config ${JSON.stringify(update)}`);
  return response.body;
}

/** A raw single-event body of exactly `size` bytes. */
function eventBodyOfSize(id: string, size: number): string {
  const skeleton = JSON.stringify(envelope(id, { pad: '' }));
  const body = JSON.stringify(envelope(id, { pad: 'p'.repeat(size - skeleton.length) }));
  expect(body.length).toBe(size);
  return body;
}

/** A raw batch body of exactly `size` bytes with `count` events. */
function batchBodyOfSize(prefix: string, size: number, count = 4): string {
  const skeleton = JSON.stringify({ events: Array.from({ length: count }, (_, index) => envelope(`${prefix}/${index}`, { pad: '' })) });
  const each = Math.floor((size - skeleton.length) / count);
  let body = JSON.stringify({ events: Array.from({ length: count }, (_, index) => envelope(`${prefix}/${index}`, { pad: 'q'.repeat(each) })) });
  body = `${body.slice(0, -1)}${' '.repeat(size - body.length)}}`;
  expect(body.length).toBe(size);
  return body;
}

const rawPost = (target: Deployment, path: string, raw: string, token?: string): Promise<ApiResponse> =>
  request(target, 'POST', path, {
    raw,
    headers: { 'content-type': 'application/json' },
    ...(token === undefined ? {} : { token }),
    timeoutMs: 60_000,
  });

function expectRateLimited(response: ApiResponse, context: string): void {
  expect(expectError(response, 429, context)).toBe('rate limit exceeded');
  const retryAfter = response.headers.get('retry-after');
  expect(retryAfter, `${context}: Retry-After header`).not.toBeNull();
  expect(retryAfter ?? '').toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(120);
}

describe('GET/PUT /api/admin/config', () => {
  it('GET returns exactly the four keys with the documented defaults', async () => {
    const response = await get(pub, '/api/admin/config');
    expectStatus(response, 200);
    expect(response.body).toEqual(DEFAULTS);
  });

  it('PUT needs the admin token: missing or wrong gives 401 and changes nothing', async () => {
    expectError(await putConfig(pub, { rate_limit_per_namespace_per_minute: 7 }, null), 401, 'missing');
    expectError(await putConfig(pub, { rate_limit_per_namespace_per_minute: 7 }, 'wrong-token'), 401, 'wrong');
    const ns = await registerNamespace(pub, unique('cfg-ns'), ADMIN);
    expectError(await putConfig(pub, { rate_limit_per_namespace_per_minute: 7 }, ns.token), 401, 'namespace token');
    expect((await get(pub, '/api/admin/config')).body).toEqual(DEFAULTS);
  });

  it.each([
    ['rate_limit_enabled as a string', { rate_limit_enabled: 'yes' }],
    ['rate_limit_enabled as a number', { rate_limit_enabled: 1 }],
    ['a negative rate limit', { rate_limit_per_namespace_per_minute: -1 }],
    ['a rate limit as a string', { rate_limit_per_namespace_per_minute: '100' }],
    ['a fractional rate limit', { rate_limit_per_namespace_per_minute: 1.5 }],
    ['a negative single body limit', { body_size_limit_single_bytes: -10 }],
    ['a null batch body limit', { body_size_limit_batch_bytes: null }],
    ['a valid key next to a wrong one', { rate_limit_per_namespace_per_minute: 50, body_size_limit_single_bytes: 'big' }],
    ['a JSON array', [1, 2]],
    ['a JSON string', 'config'],
  ])('PUT with %s is 400 and changes nothing', async (_label, update) => {
    expectError(await putConfig(pub, update), 400);
    expect((await get(pub, '/api/admin/config')).body).toEqual(DEFAULTS);
  });

  it('PUT with a subset updates it and returns the full config; GET agrees', async () => {
    const updated = await setConfig(pub, { rate_limit_per_namespace_per_minute: 5_000 });
    expect(updated).toEqual({ ...DEFAULTS, rate_limit_per_namespace_per_minute: 5_000 });
    expect((await get(pub, '/api/admin/config')).body).toEqual(updated);
    const all = {
      rate_limit_enabled: false,
      rate_limit_per_namespace_per_minute: 9,
      body_size_limit_single_bytes: 2_000_000,
      body_size_limit_batch_bytes: 20_000_000,
    };
    expect(await setConfig(pub, all)).toEqual(all);
    expect(await setConfig(pub, {})).toEqual(all);
    expect(await setConfig(pub, DEFAULTS)).toEqual(DEFAULTS);
  });
});

describe('body size limits follow the runtime config', () => {
  it('single-event limit: lowered takes effect at once, raised above 1 MiB is reachable', async () => {
    const id = unique('lim-single');
    await setConfig(pub, { body_size_limit_single_bytes: 4_096, rate_limit_enabled: false });
    try {
      const ns = await registerNamespace(pub, unique('lim-s'), ADMIN);
      const own = `${ns.name}/${id}`;
      expectStatus(await rawPost(pub, '/api/events', eventBodyOfSize(own, 4_000), ns.token), 200, '4000 bytes under a 4096 limit');
      expectError(await rawPost(pub, '/api/events', eventBodyOfSize(own, 5_000), ns.token), 413, '5000 bytes over a 4096 limit');
      // The batch endpoint has its own limit.
      expectStatus(await rawPost(pub, '/api/events/batch', batchBodyOfSize(`${ns.name}/b`, 8_000), ns.token), 200, 'batch of 8000 bytes');

      await setConfig(pub, { body_size_limit_single_bytes: 2 * 1_048_576 });
      expectStatus(await rawPost(pub, '/api/events', eventBodyOfSize(own, 1_500_000), ns.token), 200, '1.5 MB under a 2 MiB limit');
      expectError(await rawPost(pub, '/api/events', eventBodyOfSize(own, 2 * 1_048_576 + 100), ns.token), 413, 'over a 2 MiB limit');
      await waitForEntity(pub, own, (entity) => String(entity.properties.pad).length > 1_000_000);
    } finally {
      await setConfig(pub, DEFAULTS);
    }
  });

  it('batch limit: lowered takes effect at once, raised above 10 MiB is reachable', async () => {
    await setConfig(pub, { body_size_limit_batch_bytes: 65_536, rate_limit_enabled: false });
    try {
      const ns = await registerNamespace(pub, unique('lim-b'), ADMIN);
      expectStatus(await rawPost(pub, '/api/events/batch', batchBodyOfSize(`${ns.name}/a`, 65_000), ns.token), 200, '65000 under 65536');
      expectError(await rawPost(pub, '/api/events/batch', batchBodyOfSize(`${ns.name}/b`, 66_000), ns.token), 413, '66000 over 65536');
      await setConfig(pub, { body_size_limit_batch_bytes: 12 * 1_048_576 });
      expectStatus(
        await rawPost(pub, '/api/events/batch', batchBodyOfSize(`${ns.name}/c`, 11 * 1_048_576, 16), ns.token),
        200,
        '11 MiB under 12 MiB',
      );
    } finally {
      await setConfig(pub, DEFAULTS);
    }
  }, 90_000);
});

describe('rate limiting (public mode)', () => {
  it('each event costs one token; over the limit: 429, Retry-After and {"error": "rate limit exceeded"}', async () => {
    await setConfig(pub, { rate_limit_per_namespace_per_minute: 5 });
    try {
      const ns = await registerNamespace(pub, unique('rl-single'), ADMIN);
      for (let n = 1; n <= 5; n += 1) expectStatus(await publish(pub, `${ns.name}/e`, { n }, { token: ns.token }), 200, `event ${n} of 5`);
      expectRateLimited(await publish(pub, `${ns.name}/e`, { n: 6 }, { token: ns.token }), 'event 6');
      expectRateLimited(await publish(pub, `${ns.name}/other`, { n: 7 }, { token: ns.token }), 'event 7 (another entity, same namespace)');
      const entity = await waitForEntity(pub, `${ns.name}/e`, (value) => value.version === 5);
      expect(entity.properties.n).toBe(5);
      expect((await getEntity(pub, `${ns.name}/other`)).status).toBe(404);
    } finally {
      await setConfig(pub, DEFAULTS);
    }
  });

  it('buckets are per namespace', async () => {
    await setConfig(pub, { rate_limit_per_namespace_per_minute: 3 });
    try {
      const a = await registerNamespace(pub, unique('rl-a'), ADMIN);
      const b = await registerNamespace(pub, unique('rl-b'), ADMIN);
      for (let n = 1; n <= 3; n += 1) expectStatus(await publish(pub, `${a.name}/x`, { n }, { token: a.token }), 200);
      expectRateLimited(await publish(pub, `${a.name}/x`, { n: 4 }, { token: a.token }), 'namespace a exhausted');
      expectStatus(await publish(pub, `${b.name}/x`, { n: 1 }, { token: b.token }), 200, 'namespace b has its own bucket');
    } finally {
      await setConfig(pub, DEFAULTS);
    }
  });

  it('in a batch each element is rate-limited on its own and fails with the same message', async () => {
    await setConfig(pub, { rate_limit_per_namespace_per_minute: 5 });
    try {
      const ns = await registerNamespace(pub, unique('rl-batch'), ADMIN);
      const events = Array.from({ length: 8 }, (_, index) => envelope(`${ns.name}/b${index}`, { index }));
      const response = await request(pub, 'POST', '/api/events/batch', { json: { events }, token: ns.token });
      expectStatus(response, 200);
      expect(response.body.successful).toBe(5);
      expect(response.body.failed).toBe(3);
      const results = response.body.results as Json[];
      expect(results).toHaveLength(8);
      results
        .slice(0, 5)
        .forEach((result, index) =>
          expect(result, `element ${index}`).toEqual({ eventId: expect.any(String), stream: 'contract.tests', ...POSITION_FIELDS }),
        );
      results.slice(5).forEach((result, index) => expect(result.error, `element ${index + 5}`).toBe('rate limit exceeded'));
      await waitForEntity(pub, `${ns.name}/b4`);
      expect((await getEntity(pub, `${ns.name}/b5`)).status).toBe(404);
    } finally {
      await setConfig(pub, DEFAULTS);
    }
  });

  it('authorisation is checked before the rate limit (refused writes cost nothing)', async () => {
    await setConfig(pub, { rate_limit_per_namespace_per_minute: 3 });
    try {
      const a = await registerNamespace(pub, unique('rl-auth-a'), ADMIN);
      const b = await registerNamespace(pub, unique('rl-auth-b'), ADMIN);
      for (let n = 0; n < 6; n += 1) expectError(await publish(pub, `${b.name}/x`, { n }, { token: a.token }), 403, `forbidden write ${n}`);
      for (let n = 1; n <= 3; n += 1)
        expectStatus(await publish(pub, `${a.name}/x`, { n }, { token: a.token }), 200, `own write ${n} after forbidden ones`);
      // Exhausted now; an unauthorised request still gets 401/403, not 429.
      expectError(await publish(pub, `${a.name}/x`, { n: 9 }, { token: 'unknown-token' }), 401, 'unknown token on an exhausted namespace');
      expectError(await publish(pub, `${a.name}/x`, { n: 9 }, { token: b.token }), 403, 'foreign token on an exhausted namespace');
      expectRateLimited(await publish(pub, `${a.name}/x`, { n: 4 }, { token: a.token }), 'own write 4');
    } finally {
      await setConfig(pub, DEFAULTS);
    }
  });

  it('deletes do not consume rate-limit tokens and are not refused when the bucket is empty', async () => {
    await setConfig(pub, { rate_limit_per_namespace_per_minute: 3 });
    try {
      const ns = await registerNamespace(pub, unique('rl-del'), ADMIN);
      for (let n = 0; n < 6; n += 1) {
        expectStatus(
          await request(pub, 'DELETE', `/api/state/entities/${encodeURIComponent(`${ns.name}/nothing-${n}`)}`, { token: ns.token }),
          200,
          `delete ${n}`,
        );
      }
      expectStatus(await post(pub, '/api/state/entities/delete', { namespace: ns.name }, { token: ns.token }), 200, 'batch delete');
      for (let n = 1; n <= 3; n += 1)
        expectStatus(await publish(pub, `${ns.name}/e${n}`, { n }, { token: ns.token }), 200, `publish ${n} after deletes`);
      expectRateLimited(await publish(pub, `${ns.name}/e4`, { n: 4 }, { token: ns.token }), 'publish 4');
      await waitForEntity(pub, `${ns.name}/e3`);
      expectStatus(
        await request(pub, 'DELETE', `/api/state/entities/${encodeURIComponent(`${ns.name}/e1`)}`, { token: ns.token }),
        200,
        'delete on an empty bucket',
      );
      const batchDelete = await post(pub, '/api/state/entities/delete', { entity_ids: [`${ns.name}/e2`, `${ns.name}/e3`] }, { token: ns.token });
      expectStatus(batchDelete, 200, 'batch delete on an empty bucket');
      expect(batchDelete.body.deleted).toBe(2);
    } finally {
      await setConfig(pub, DEFAULTS);
    }
  });

  it('lowering the limit clamps existing buckets to the new capacity', async () => {
    const ns = await registerNamespace(pub, unique('rl-clamp'), ADMIN);
    await setConfig(pub, { rate_limit_per_namespace_per_minute: 100 });
    try {
      expectStatus(await publish(pub, `${ns.name}/x`, { n: 0 }, { token: ns.token }), 200, 'bucket created at 100');
      await setConfig(pub, { rate_limit_per_namespace_per_minute: 2 });
      for (let n = 1; n <= 2; n += 1)
        expectStatus(await publish(pub, `${ns.name}/x`, { n }, { token: ns.token }), 200, `write ${n} after clamping to 2`);
      expectRateLimited(await publish(pub, `${ns.name}/x`, { n: 3 }, { token: ns.token }), 'write 3 after clamping to 2');
    } finally {
      await setConfig(pub, DEFAULTS);
    }
  });

  it('buckets refill continuously', async () => {
    await setConfig(pub, { rate_limit_per_namespace_per_minute: 60 });
    try {
      const ns = await registerNamespace(pub, unique('rl-refill'), ADMIN);
      const events = Array.from({ length: 60 }, (_, index) => envelope(`${ns.name}/r`, { index }));
      const drained = await request(pub, 'POST', '/api/events/batch', { json: { events }, token: ns.token });
      expectStatus(drained, 200);
      expect(drained.body.successful).toBeGreaterThanOrEqual(59);
      expectRateLimited(await publish(pub, `${ns.name}/r`, { n: 'over' }, { token: ns.token }), 'right after draining');
      const started = Date.now();
      // One token per second: a write succeeds again within a few seconds, long before a minute.
      await waitFor(async () => (await publish(pub, `${ns.name}/r`, { n: 'refilled' }, { token: ns.token })).status === 200, {
        timeoutMs: 5_000,
        intervalMs: 250,
        what: 'a refilled token',
      });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await setConfig(pub, DEFAULTS);
    }
  });

  it('rate_limit_enabled=false turns rate limiting off at once', async () => {
    await setConfig(pub, { rate_limit_per_namespace_per_minute: 2 });
    try {
      const ns = await registerNamespace(pub, unique('rl-off'), ADMIN);
      for (let n = 1; n <= 2; n += 1) expectStatus(await publish(pub, `${ns.name}/x`, { n }, { token: ns.token }), 200);
      expectRateLimited(await publish(pub, `${ns.name}/x`, { n: 3 }, { token: ns.token }), 'limit 2');
      await setConfig(pub, { rate_limit_enabled: false });
      for (let n = 3; n <= 8; n += 1)
        expectStatus(await publish(pub, `${ns.name}/x`, { n }, { token: ns.token }), 200, `write ${n} with rate limiting off`);
      await setConfig(pub, { rate_limit_enabled: true });
      expectRateLimited(await publish(pub, `${ns.name}/x`, { n: 9 }, { token: ns.token }), 'rate limiting back on');
    } finally {
      await setConfig(pub, DEFAULTS);
    }
  });

  it('FLUX_RATE_LIMIT_ENABLED=false from the environment is honoured', async () => {
    expect((await get(disabled, '/api/admin/config')).body).toEqual({
      ...DEFAULTS,
      rate_limit_enabled: false,
      rate_limit_per_namespace_per_minute: 1,
    });
    const ns = await registerNamespace(disabled, unique('rl-envoff'), ADMIN);
    for (let n = 1; n <= 4; n += 1)
      expectStatus(await publish(disabled, `${ns.name}/x`, { n }, { token: ns.token }), 200, `write ${n} with limit 1 but disabled`);
  });
});

describe('internal mode with FLUX_ADMIN_TOKEN and limits from the environment', () => {
  it('GET reflects the FLUX_* environment', async () => {
    const response = await get(internal, '/api/admin/config');
    expectStatus(response, 200);
    expect(response.body).toEqual({
      rate_limit_enabled: true,
      rate_limit_per_namespace_per_minute: 2,
      body_size_limit_single_bytes: 4_096,
      body_size_limit_batch_bytes: 65_536,
    });
  });

  it('has no rate limits', async () => {
    const ns = unique('int-rl');
    for (let n = 1; n <= 6; n += 1) expectStatus(await publish(internal, `${ns}/x`, { n }), 200, `write ${n} with a limit of 2`);
    const body = await batchOk(
      internal,
      Array.from({ length: 10 }, (_, index) => envelope(`${ns}/y${index}`, { index })),
    );
    expect(body.successful).toBe(10);
    await waitForEntity(internal, `${ns}/x`, (entity) => entity.version === 6);
  });

  it('enforces the body limits from the environment', async () => {
    const id = unique('int-size');
    expectStatus(await rawPost(internal, '/api/events', eventBodyOfSize(id, 4_000)), 200);
    expectError(await rawPost(internal, '/api/events', eventBodyOfSize(id, 4_200)), 413);
    expectStatus(await rawPost(internal, '/api/events/batch', batchBodyOfSize(`${id}-b`, 60_000)), 200);
    expectError(await rawPost(internal, '/api/events/batch', batchBodyOfSize(`${id}-c`, 70_000)), 413);
  });

  it('PUT needs the admin token when it is set (401), and works with it', async () => {
    expectError(await putConfig(internal, { body_size_limit_single_bytes: 8_192 }, null), 401);
    expectError(await putConfig(internal, { body_size_limit_single_bytes: 8_192 }, 'wrong'), 401);
    const updated = await setConfig(internal, { body_size_limit_single_bytes: 8_192 });
    expect(updated.body_size_limit_single_bytes).toBe(8_192);
    expectStatus(await rawPost(internal, '/api/events', eventBodyOfSize(unique('int-size2'), 6_000)), 200, '6000 bytes under the new 8192 limit');
  });
});

describe('configuration defaults (11)', () => {
  it('FLUX_GITHUB_POLL_INTERVAL_SECONDS defaults to 300', async () => {
    const ns = await registerNamespace(pub, unique('cfg-poll'), ADMIN);
    const response = await get(pub, '/api/connectors/github', { token: ns.token });
    expectStatus(response, 200);
    expect(response.body.poll_interval_seconds).toBe(300);
  });
});

describe('invalid configuration stops start-up (11)', () => {
  async function expectStartupFailure(env: Record<string, string>, names: readonly string[]): Promise<void> {
    const result = await startExpectingFailure(env);
    expect(result.becameReady, `Flux became ready with ${JSON.stringify(env)}; output:\n${result.output}`).toBe(false);
    expect(result.code, `Flux must exit by itself with a non-zero code for ${JSON.stringify(env)}; output:\n${result.output}`).not.toBeNull();
    expect(result.code).not.toBe(0);
    for (const name of names) expect(result.output, `the start-up message should name ${name}`).toContain(name);
  }

  it('names each bad variable: PORT=abc and FLUX_ENCRYPTION_KEY=short', async () => {
    await expectStartupFailure({ PORT: 'abc', FLUX_ENCRYPTION_KEY: 'short' }, ['PORT', 'FLUX_ENCRYPTION_KEY']);
  });

  it.each([
    ['PORT out of range', { PORT: '70000' }, ['PORT']],
    ['FLUX_ENCRYPTION_KEY of 16 bytes', { FLUX_ENCRYPTION_KEY: Buffer.alloc(16, 1).toString('base64') }, ['FLUX_ENCRYPTION_KEY']],
    ['a negative rate limit', { FLUX_RATE_LIMIT_PER_NAMESPACE_PER_MINUTE: '-5' }, ['FLUX_RATE_LIMIT_PER_NAMESPACE_PER_MINUTE']],
    ['a non-numeric body limit', { FLUX_BODY_SIZE_LIMIT_SINGLE_BYTES: 'lots' }, ['FLUX_BODY_SIZE_LIMIT_SINGLE_BYTES']],
    ['a non-numeric poll interval', { FLUX_GITHUB_POLL_INTERVAL_SECONDS: 'often' }, ['FLUX_GITHUB_POLL_INTERVAL_SECONDS']],
    [
      'three bad variables at once',
      { FLUX_BODY_SIZE_LIMIT_BATCH_BYTES: '-1', FLUX_RATE_LIMIT_PER_NAMESPACE_PER_MINUTE: 'many', FLUX_ENCRYPTION_KEY: 'not base64 at all!' },
      ['FLUX_BODY_SIZE_LIMIT_BATCH_BYTES', 'FLUX_RATE_LIMIT_PER_NAMESPACE_PER_MINUTE', 'FLUX_ENCRYPTION_KEY'],
    ],
  ] as const)('%s', async (_label, env, names) => {
    await expectStartupFailure({ ...env }, names);
  });

  it(
    'a valid FLUX_ENCRYPTION_KEY starts fine (control)',
    async () => {
      const ok = await startDeployment({ env: { FLUX_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } });
      try {
        expectStatus(await get(ok, '/health'), 200);
      } finally {
        await ok.dispose();
      }
    },
    STARTUP_TIMEOUT_MS,
  );
});
