/**
 * Event-sourced deletion (contract section 4): tombstones go through the log and entities
 * disappear once applied; bulk deletes either delete every match or, when refused, nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DELETION_STREAM, ErrorCode, parseEnvelope } from '@flux/domain';
import { DeletionService, NamespaceService, type Principal } from '@flux/core';
import { OPEN, envelope, openPipeline, tempDir, type Pipeline, type TempDir, rejection } from './support.js';
import { POSITION_FIELDS } from '../support/expect.js';

let dir: TempDir;
let flux: Pipeline;

afterEach(async () => {
  await flux.close();
  await dir.remove();
});

async function setUp(options: { authEnabled?: boolean; maxBatchDelete?: number } = {}): Promise<DeletionService> {
  dir = await tempDir();
  flux = await openPipeline(dir.path, { authEnabled: options.authEnabled ?? false, initialRuntimeConfig: { rate_limit_enabled: false } });
  await flux.startReducers();
  return new DeletionService({
    ingest: flux.ingest,
    reader: flux.embedded.state,
    authorizer: flux.authorizer,
    maxBatchDelete: options.maxBatchDelete ?? 100,
  });
}

async function seed(ids: readonly string[]): Promise<void> {
  // Flux's own append path: no auth, so system entities can be seeded too.
  await flux.ingest.appendEvents(ids.map((id) => parseEnvelope(envelope(id, { seeded: true }))));
  await flux.settle();
}

const ids = async () => (await flux.embedded.state.listEntities({ prefix: '', limit: 1000 })).entities.map((record) => record.id);
const logSize = async () => (await flux.endOffsets()).reduce((sum, end) => sum + end, 0);

describe('internal mode', () => {
  let service: DeletionService;
  const deletion = () => service;

  beforeEach(async () => {
    service = await setUp({ maxBatchDelete: 4 });
    await seed(['ns/a', 'ns/b', 'ns/c', 'nsx/a', 'other/a', 'loose', 'flux-core/directory', 'flux-core/other']);
  });

  it('deleteOne appends a tombstone and the entity disappears once applied; deleting again is not an error', async () => {
    const result = await deletion().deleteOne('ns/a', OPEN);
    expect(result).toEqual({ entity_id: 'ns/a', eventId: expect.any(String), ...POSITION_FIELDS });
    await flux.settle();
    expect(await flux.embedded.state.getEntity('ns/a')).toBeUndefined();
    const [tombstone] = await flux.embedded.state.history('ns/a', { sinceMs: 0, limit: 1 });
    expect(tombstone?.event).toMatchObject({ eventId: result.eventId, stream: DELETION_STREAM, payload: { properties: { __deleted__: true } } });

    await expect(deletion().deleteOne('ns/a', OPEN)).resolves.toMatchObject({ entity_id: 'ns/a' });
    await expect(deletion().deleteOne('never/existed', OPEN)).resolves.toMatchObject({ entity_id: 'never/existed' });
    await flux.settle();
    expect(await ids()).toEqual(['flux-core/directory', 'flux-core/other', 'loose', 'ns/b', 'ns/c', 'nsx/a', 'other/a']);
    expect((await flux.embedded.state.counts()).byNamespace).toMatchObject({ ns: 2 });
  });

  it('deleteOne refuses invalid ids and system entities', async () => {
    expect((await rejection(deletion().deleteOne('', OPEN))).code).toBe(ErrorCode.Validation);
    expect((await rejection(deletion().deleteOne(7, OPEN))).code).toBe(ErrorCode.Validation);
    expect((await rejection(deletion().deleteOne('flux-core/directory', OPEN))).code).toBe(ErrorCode.Forbidden);
    expect(await flux.embedded.state.getEntity('flux-core/directory')).toBeDefined();
  });

  it('deletes a whole namespace, and only that namespace', async () => {
    await expect(deletion().deleteMatching({ namespace: 'ns' }, OPEN)).resolves.toMatchObject({ deleted: 3, failed: 0, errors: [] });
    await flux.settle();
    expect(await ids()).toEqual(['flux-core/directory', 'flux-core/other', 'loose', 'nsx/a', 'other/a']);
  });

  it('a namespace selector containing "/" matches nothing, as the namespace query filter does', async () => {
    await seed(['ns/sub/1', 'ns/sub/2']);
    // Those ids belong to namespace "ns": "ns/sub" is not a namespace.
    await expect(deletion().deleteMatching({ namespace: 'ns/sub' }, OPEN)).resolves.toEqual({ deleted: 0, failed: 0, errors: [], positions: [] });
    await flux.settle();
    expect(await flux.embedded.state.getEntity('ns/sub/1')).toBeDefined();
  });

  it('deletes by prefix, skipping system entities', async () => {
    // A prefix is a plain string prefix: it reaches past the namespace boundary.
    await expect(deletion().deleteMatching({ prefix: 'ns' }, OPEN)).resolves.toMatchObject({ deleted: 4, failed: 0, errors: [] });
    await expect(deletion().deleteMatching({ prefix: 'flux-' }, OPEN)).resolves.toEqual({ deleted: 0, failed: 0, errors: [], positions: [] });
    await expect(deletion().deleteMatching({ namespace: 'flux-core' }, OPEN)).resolves.toEqual({ deleted: 0, failed: 0, errors: [], positions: [] });
    await flux.settle();
    expect(await ids()).toEqual(['flux-core/directory', 'flux-core/other', 'loose', 'other/a']);
  });

  it('deletes listed ids: missing ids are not counted, invalid and system ids are reported', async () => {
    const result = await deletion().deleteMatching({ entity_ids: ['ns/a', 'ns/missing', 'loose', '', 42, 'flux-core/directory', 'ns/a'] }, OPEN);
    expect(result.deleted).toBe(2);
    expect(result.failed).toBe(3);
    expect(result.errors).toEqual([
      { entity_id: '', error: expect.stringContaining('entity_id') },
      { entity_id: 42, error: expect.stringContaining('entity_id') },
      { entity_id: 'flux-core/directory', error: expect.stringContaining('system entity') },
    ]);
    await flux.settle();
    expect(await ids()).toEqual(['flux-core/directory', 'flux-core/other', 'ns/b', 'ns/c', 'nsx/a', 'other/a']);
  });

  it('refuses more than max_batch_delete matches, deleting nothing', async () => {
    await seed(['big/1', 'big/2', 'big/3', 'big/4', 'big/5']);
    const before = await logSize();
    const tooMany = await rejection(deletion().deleteMatching({ namespace: 'big' }, OPEN));
    expect(tooMany.code).toBe(ErrorCode.Validation);
    expect(tooMany.message).toContain('max_batch_delete');
    expect((await rejection(deletion().deleteMatching({ prefix: 'b' }, OPEN))).code).toBe(ErrorCode.Validation);
    const listed = { entity_ids: ['big/1', 'big/2', 'big/3', 'big/4', 'big/5'] };
    expect((await rejection(deletion().deleteMatching(listed, OPEN))).code).toBe(ErrorCode.Validation);
    expect(await logSize()).toBe(before);
    expect((await flux.embedded.state.counts()).byNamespace.big).toBe(5);

    // Exactly the maximum is fine.
    await expect(deletion().deleteMatching({ entity_ids: listed.entity_ids.slice(0, 4) }, OPEN)).resolves.toMatchObject({ deleted: 4 });
  });

  it('refuses selectors that are not exactly one of namespace, prefix or entity_ids', async () => {
    for (const body of [{}, { namespace: 'ns', prefix: 'ns' }, { namespace: '' }, { entity_ids: 'ns/a' }, { other: 1 }, null, []]) {
      expect((await rejection(deletion().deleteMatching(body, OPEN))).code, JSON.stringify(body)).toBe(ErrorCode.Validation);
    }
    expect((await ids()).length).toBe(8);
  });
});

describe('public mode', () => {
  let deletion: DeletionService;
  let alpha: Principal;

  beforeEach(async () => {
    deletion = await setUp({ authEnabled: true });
    const namespaces = new NamespaceService(flux.embedded.control, flux.embedded.state);
    alpha = await flux.authorizer.authenticate(`Bearer ${(await namespaces.register('alpha')).token}`);
    await namespaces.register('beta');
    await seed(['alpha/1', 'alpha/2', 'alpha-x/1', 'beta/1']);
  });

  it('refuses foreign ids, foreign namespaces and prefixes reaching outside, deleting nothing', async () => {
    const before = await logSize();
    expect((await rejection(deletion.deleteMatching({ entity_ids: ['alpha/1', 'beta/1'] }, alpha))).code).toBe(ErrorCode.Forbidden);
    expect((await rejection(deletion.deleteMatching({ entity_ids: ['alpha/1', 'no-namespace'] }, alpha))).code).toBe(ErrorCode.Forbidden);
    expect((await rejection(deletion.deleteMatching({ namespace: 'beta' }, alpha))).code).toBe(ErrorCode.Forbidden);
    expect((await rejection(deletion.deleteMatching({ prefix: 'alpha' }, alpha))).code).toBe(ErrorCode.Forbidden);
    expect((await rejection(deletion.deleteOne('beta/1', alpha))).code).toBe(ErrorCode.Forbidden);
    expect((await rejection(deletion.deleteMatching({ namespace: 'alpha' }, { kind: 'anonymous' }))).code).toBe(ErrorCode.Unauthorized);
    expect((await rejection(deletion.deleteOne('alpha/1', { kind: 'admin' }))).code).toBe(ErrorCode.Unauthorized);
    expect(await logSize()).toBe(before);
    expect(await ids()).toEqual(['alpha-x/1', 'alpha/1', 'alpha/2', 'beta/1']);
  });

  it('deletes within the token namespace', async () => {
    await expect(deletion.deleteMatching({ prefix: 'alpha/' }, alpha)).resolves.toMatchObject({ deleted: 2 });
    await flux.settle();
    expect(await ids()).toEqual(['alpha-x/1', 'beta/1']);
  });

  it('bulk deletes consume no rate-limit tokens', async () => {
    await flux.runtimeConfig.update({ rate_limit_enabled: true, rate_limit_per_namespace_per_minute: 1 });
    await expect(deletion.deleteMatching({ namespace: 'alpha' }, alpha)).resolves.toMatchObject({ deleted: 2 });
    await expect(deletion.deleteOne('alpha/3', alpha)).resolves.toMatchObject({ entity_id: 'alpha/3' });
    await expect(flux.ingest.publish(envelope('alpha/after', { v: 1 }), alpha)).resolves.toMatchObject({ stream: 'test.pipeline' });
  });
});
