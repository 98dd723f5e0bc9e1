/**
 * The write path as the API drives it (contract sections 1, 7 and 8): per-element results in
 * input order, public-mode authorisation, per-namespace rate limits, and array order preserved
 * all the way into state.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@flux/domain';
import { NamespaceService, RATE_LIMIT_MESSAGE, type Principal } from '@flux/core';
import { MemoryRateLimiter } from '@flux/embedded';
import { envelope, openPipeline, tempDir, type Pipeline, type TempDir, rejection } from './support.js';
import { POSITION_FIELDS } from '../support/expect.js';

const ADMIN_TOKEN = 'pipeline-admin-token';
let dir: TempDir;
let flux: Pipeline;
let clock: number;
let alpha: Principal;
let beta: Principal;

beforeEach(async () => {
  dir = await tempDir();
  clock = Date.UTC(2026, 0, 1);
  flux = await openPipeline(dir.path, {
    authEnabled: true,
    adminToken: ADMIN_TOKEN,
    rateLimiter: new MemoryRateLimiter({ now: () => clock }),
    initialRuntimeConfig: { rate_limit_per_namespace_per_minute: 5 },
  });
  await flux.startReducers();
  const namespaces = new NamespaceService(flux.embedded.control, flux.embedded.state);
  alpha = await flux.authorizer.authenticate(`Bearer ${(await namespaces.register('alpha')).token}`);
  beta = await flux.authorizer.authenticate(`Bearer ${(await namespaces.register('beta')).token}`);
});

afterEach(async () => {
  await flux.close();
  await dir.remove();
});

const logSize = async () => (await flux.endOffsets()).reduce((sum, end) => sum + end, 0);

describe('batch publishing', () => {
  it('answers every element in input order, one bad element never failing the others', async () => {
    await flux.runtimeConfig.update({ rate_limit_enabled: false });
    const inputs: unknown[] = [
      envelope('alpha/one', { n: 1 }, { eventId: 'evt-1' }),
      { ...envelope('alpha/bad', { n: 2 }), source: '', eventId: 'evt-2' },
      envelope('beta/theirs', { n: 3 }, { eventId: 'evt-3', stream: 'other.stream' }),
      envelope('alpha/two', { n: 4 }),
      envelope('no-namespace', { n: 5 }),
      envelope('flux-core/directory', { n: 6 }),
      42,
      { stream: 'Bad Stream', payload: { entity_id: 'alpha/x' } },
      envelope('alpha/three', { n: 9 }, { key: 'k', schema: 's' }),
    ];
    const results = await flux.ingest.publishBatch(inputs, alpha);
    expect(results).toHaveLength(inputs.length);

    expect(results[0]).toEqual({ eventId: 'evt-1', stream: 'test.pipeline', ...POSITION_FIELDS });
    expect(results[1]).toEqual({ error: expect.stringContaining('source'), eventId: 'evt-2', stream: 'test.pipeline' });
    expect(results[2]).toEqual({ error: expect.stringContaining('namespace "beta"'), eventId: 'evt-3', stream: 'other.stream' });
    expect(results[3]).toEqual({ eventId: expect.any(String), stream: 'test.pipeline', ...POSITION_FIELDS });
    expect(results[4]).toMatchObject({ error: expect.stringContaining('<namespace>/<name>') });
    expect(results[5]).toMatchObject({ error: expect.stringContaining('read-only system entity') });
    expect(results[6]).toEqual({ error: expect.stringContaining('JSON object') });
    expect(results[7]).toMatchObject({ error: expect.stringMatching(/stream.*source|source.*stream/s), stream: 'Bad Stream' });
    expect(results[8]).toEqual({ eventId: expect.any(String), stream: 'test.pipeline', ...POSITION_FIELDS });

    await flux.settle();
    const ids = (await flux.embedded.state.listEntities({ prefix: '', limit: 100 })).entities.map((record) => record.id);
    expect(ids).toEqual(['alpha/one', 'alpha/three', 'alpha/two']);
    const [stored] = await flux.embedded.state.history('alpha/three', { sinceMs: 0, limit: 1 });
    expect(stored?.event).toMatchObject({ key: 'k', schema: 's', eventId: (results[8] as { eventId: string }).eventId });
  });

  it('defect 3: an element whose validation throws unexpectedly fails alone; the others are appended', async () => {
    await flux.runtimeConfig.update({ rate_limit_enabled: false });
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new TypeError('hostile getter');
        },
      },
    );
    const results = await flux.ingest.publishBatch([envelope('alpha/before', { n: 1 }), hostile, envelope('alpha/after', { n: 2 })], alpha);
    expect(results[0]).toEqual({ eventId: expect.any(String), stream: 'test.pipeline', ...POSITION_FIELDS });
    expect(results[1]).toEqual({ error: expect.any(String) });
    expect(results[2]).toEqual({ eventId: expect.any(String), stream: 'test.pipeline', ...POSITION_FIELDS });
    await flux.settle();
    const ids = (await flux.embedded.state.listEntities({ prefix: '', limit: 100 })).entities.map((record) => record.id);
    expect(ids).toEqual(['alpha/after', 'alpha/before']);
  });

  it('applies events of one batch to one entity in array order', async () => {
    await flux.runtimeConfig.update({ rate_limit_per_namespace_per_minute: 1000 });
    const inputs = [
      envelope('alpha/ordered', { step: 1, a: 'first', keep: true }),
      envelope('beta/elsewhere', { step: 1 }),
      envelope('alpha/ordered', { step: 2, a: 'second', b: 1 }),
      envelope('alpha/other', { step: 1 }),
      envelope('alpha/ordered', { step: 3, b: null }),
    ];
    // beta/elsewhere is forbidden for alpha's token; the rest keep their relative order.
    const results = await flux.ingest.publishBatch(inputs, alpha);
    expect(results.map((result) => 'error' in result)).toEqual([false, true, false, false, false]);
    await flux.settle();
    const entity = await flux.embedded.state.getEntity('alpha/ordered');
    expect(entity).toMatchObject({ version: 3, properties: { step: 3, a: 'second', keep: true } });
    const history = await flux.embedded.state.history('alpha/ordered', { sinceMs: 0, limit: 10 });
    expect(history.map((stored) => stored.event.payload.properties.step)).toEqual([3, 2, 1]);
  });
});

describe('public-mode authorisation', () => {
  it('refuses writes outside the token namespace (403), by the admin or without a token (401), and ids without a namespace (400)', async () => {
    const before = await logSize();
    expect((await rejection(flux.ingest.publish(envelope('beta/x', { v: 1 }), alpha))).code).toBe(ErrorCode.Forbidden);
    expect((await rejection(flux.ingest.publish(envelope('unregistered/x', { v: 1 }), alpha))).code).toBe(ErrorCode.Forbidden);
    expect((await rejection(flux.ingest.publish(envelope('flux-core/directory', { v: 1 }), alpha))).code).toBe(ErrorCode.Forbidden);

    const admin = await flux.authorizer.authenticate(`Bearer ${ADMIN_TOKEN}`);
    expect(admin.kind).toBe('admin');
    expect((await rejection(flux.ingest.publish(envelope('alpha/x', { v: 1 }), admin))).code).toBe(ErrorCode.Unauthorized);
    const anonymous = await flux.authorizer.authenticate(undefined);
    expect((await rejection(flux.ingest.publish(envelope('alpha/x', { v: 1 }), anonymous))).code).toBe(ErrorCode.Unauthorized);
    expect((await rejection(flux.authorizer.authenticate('Bearer not-a-token'))).code).toBe(ErrorCode.Unauthorized);
    expect((await rejection(flux.authorizer.authenticate('Basic abc'))).code).toBe(ErrorCode.Unauthorized);

    expect((await rejection(flux.ingest.publish(envelope('plain-id', { v: 1 }), alpha))).code).toBe(ErrorCode.Validation);
    expect((await rejection(flux.ingest.publish(envelope('alpha/', { v: 1 }), alpha))).code).toBe(ErrorCode.Validation);
    expect((await rejection(flux.ingest.publish(envelope('/alpha', { v: 1 }), alpha))).code).toBe(ErrorCode.Validation);

    // Nothing reached the log, and no refused event consumed a rate-limit token.
    expect(await logSize()).toBe(before);
    const results = await flux.ingest.publishBatch(
      Array.from({ length: 5 }, (_, i) => envelope(`alpha/deep/${i}`, { i })),
      alpha,
    );
    expect(results.every((result) => !('error' in result))).toBe(true);
  });

  it('without a namespace token no element of a batch is appended', async () => {
    const admin = await flux.authorizer.authenticate(`Bearer ${ADMIN_TOKEN}`);
    for (const principal of [await flux.authorizer.authenticate(''), admin]) {
      const results = await flux.ingest.publishBatch([envelope('alpha/x', { v: 1 }), envelope('beta/y', { v: 1 })], principal);
      expect(results).toEqual([
        { error: expect.stringMatching(/token/), stream: 'test.pipeline' },
        { error: expect.stringMatching(/token/), stream: 'test.pipeline' },
      ]);
    }
    expect(await logSize()).toBe(0);
  });
});

describe('rate limiting', () => {
  it('grants the first k elements of a batch and refuses the rest with "rate limit exceeded"', async () => {
    const inputs = Array.from({ length: 8 }, (_, i) => envelope(`alpha/r${i}`, { i }, { eventId: `r-${i}` }));
    // An invalid element costs no token.
    inputs.splice(2, 0, { ...envelope('alpha/invalid', {}), timestamp: -1 });
    const results = await flux.ingest.publishBatch(inputs, alpha);
    expect(results.map((result) => ('error' in result ? result.error : 'ok'))).toEqual([
      'ok',
      'ok',
      expect.stringContaining('timestamp'),
      'ok',
      'ok',
      'ok',
      RATE_LIMIT_MESSAGE,
      RATE_LIMIT_MESSAGE,
      RATE_LIMIT_MESSAGE,
    ]);
    expect(results[6]).toEqual({ error: RATE_LIMIT_MESSAGE, eventId: 'r-5', stream: 'test.pipeline' });
    await flux.settle();
    expect((await flux.embedded.state.counts()).byNamespace).toEqual({ alpha: 5 });

    // The bucket is per namespace.
    expect(await flux.ingest.publish(envelope('beta/free', { v: 1 }), beta)).toMatchObject({ stream: 'test.pipeline' });
  });

  it('refuses a single event over the limit with a Retry-After, and accepts it once the bucket refilled', async () => {
    for (let i = 0; i < 5; i++) await flux.ingest.publish(envelope(`alpha/s${i}`, { i }), alpha);
    const before = await logSize();
    const error = await rejection(flux.ingest.publish(envelope('alpha/late', { v: 1 }), alpha));
    expect(error).toMatchObject({ code: ErrorCode.RateLimited, message: RATE_LIMIT_MESSAGE });
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(await logSize()).toBe(before);

    // 5 per minute refills one token every 12 s: waiting the advertised time is enough.
    clock += error.retryAfterSeconds! * 1000;
    await expect(flux.ingest.publish(envelope('alpha/late', { v: 1 }), alpha)).resolves.toMatchObject({ stream: 'test.pipeline' });
  });

  it('a lowered limit applies to existing buckets at once', async () => {
    await flux.runtimeConfig.update({ rate_limit_per_namespace_per_minute: 100 });
    await flux.ingest.publish(envelope('alpha/first', { v: 1 }), alpha);
    await flux.runtimeConfig.update({ rate_limit_per_namespace_per_minute: 2 });
    const results = await flux.ingest.publishBatch(
      Array.from({ length: 4 }, (_, i) => envelope(`alpha/c${i}`, { i })),
      alpha,
    );
    expect(results.filter((result) => !('error' in result))).toHaveLength(2);
  });

  it('rate_limit_enabled false disables the limit, and re-enabling restores it', async () => {
    await flux.runtimeConfig.update({ rate_limit_enabled: false });
    const many = Array.from({ length: 20 }, (_, i) => envelope(`alpha/m${i}`, { i }));
    const results = await flux.ingest.publishBatch(many, alpha);
    expect(results.filter((result) => 'error' in result)).toEqual([]);
    for (let i = 0; i < 10; i++) await flux.ingest.publish(envelope('alpha/single', { i }), alpha);

    await flux.runtimeConfig.update({ rate_limit_enabled: true });
    const limited = await flux.ingest.publishBatch(many, alpha);
    expect(limited.filter((result) => !('error' in result))).toHaveLength(5);
  });
});
