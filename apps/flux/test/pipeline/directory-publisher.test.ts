/**
 * `flux-core/directory` (contract section 10): an ordinary entity fed through the log with the
 * real counts, never counting flux-core itself, republished only when its content changes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DELETED_PROPERTY, DIRECTORY_ENTITY_ID, parseEnvelope, type ChangeRecord } from '@flux/domain';
import { DirectoryPublisher, NamespaceService } from '@flux/core';
import { Collector } from '@flux/core/testing';
import { OPEN, envelope, openPipeline, silentLogger, tempDir, type Pipeline, type TempDir } from './support.js';

let dir: TempDir;
let flux: Pipeline;
let clock: number;
let publisher: DirectoryPublisher | undefined;

beforeEach(async () => {
  dir = await tempDir();
  clock = Date.UTC(2026, 10, 24, 10, 30, 45, 123);
  flux = await openPipeline(dir.path, { partitionCount: 2 });
  await flux.startReducers();
});

afterEach(async () => {
  await publisher?.stop();
  publisher = undefined;
  await flux.close();
  await dir.remove();
});

function newPublisher(registeredNamespaces?: () => Promise<readonly string[]>): DirectoryPublisher {
  publisher = new DirectoryPublisher({
    reader: flux.embedded.state,
    appender: flux.ingest.appender,
    logger: silentLogger,
    now: () => clock,
    intervalMs: 60_000,
    ...(registeredNamespaces === undefined ? {} : { registeredNamespaces }),
  });
  return publisher;
}

async function write(ids: readonly string[], properties: Record<string, unknown> = { v: 1 }): Promise<void> {
  const results = await flux.ingest.publishBatch(
    ids.map((id) => envelope(id, properties)),
    OPEN,
  );
  expect(results.filter((result) => 'error' in result)).toEqual([]);
  await flux.settle();
}

/** Refreshes, then waits until whatever it appended is applied. */
async function refresh(directory: DirectoryPublisher): Promise<void> {
  await directory.refresh();
  await flux.settle();
}

const directoryEntity = () => flux.embedded.state.getEntity(DIRECTORY_ENTITY_ID);

describe('DirectoryPublisher', () => {
  it('publishes the counts of every namespace, excluding flux-core and ids without a namespace', async () => {
    await write(['alpha/1', 'alpha/2', 'alpha/deep/3', 'beta/1', 'loose']);
    await flux.ingest.appendEvents([parseEnvelope(envelope('flux-core/other', { internal: true }))]);
    const directory = newPublisher();
    await refresh(directory);

    const entity = await directoryEntity();
    expect(entity?.version).toBe(1);
    expect(entity?.properties).toEqual({
      namespaces: { alpha: { entities: 3 }, beta: { entities: 1 } },
      namespace_count: 2,
      total_entities: 5,
      updated_at: '2026-11-24T10:30:45.123Z',
    });
    // The directory does not count itself.
    expect((await flux.embedded.state.counts()).total).toBe(5);
  });

  it('republishes only when the content changes, not when only the time moves', async () => {
    await write(['alpha/1']);
    const changes = new Collector<ChangeRecord>();
    flux.embedded.feed.subscribe((batch) => changes.push(...batch.filter((change) => change.entityId === DIRECTORY_ENTITY_ID)));
    const directory = newPublisher();
    await refresh(directory);
    const logAfterFirst = await flux.endOffsets();

    clock += 10_000;
    await write(['alpha/1'], { v: 2 }); // an update, not a new entity
    const logBeforeSecond = await flux.endOffsets();
    await refresh(directory);
    expect(await flux.endOffsets()).toEqual(logBeforeSecond);
    expect((await directoryEntity())?.version).toBe(1);
    expect(logBeforeSecond).not.toEqual(logAfterFirst);

    await write(['beta/1']);
    await refresh(directory);
    const entity = await directoryEntity();
    expect(entity?.version).toBe(2);
    expect(entity?.properties).toMatchObject({
      namespaces: { alpha: { entities: 1 }, beta: { entities: 1 } },
      namespace_count: 2,
      total_entities: 2,
      updated_at: new Date(clock).toISOString(),
    });

    // Deleting the last entity of a namespace drops it from the directory (internal mode).
    await write(['beta/1'], { [DELETED_PROPERTY]: true });
    await refresh(directory);
    expect((await directoryEntity())?.properties).toMatchObject({ namespaces: { alpha: { entities: 1 } }, namespace_count: 1, total_entities: 1 });
    expect(changes.items.map((change) => change.kind)).toEqual(['upsert', 'upsert', 'upsert']);
  });

  it('concurrent refreshes share one run and publish once', async () => {
    await write(['alpha/1']);
    const directory = newPublisher();
    await Promise.all([directory.refresh(), directory.refresh(), directory.refresh()]);
    await flux.settle();
    expect((await directoryEntity())?.version).toBe(1);
  });

  it('start() publishes at once without waiting for the interval', async () => {
    await write(['alpha/1']);
    const changes = new Collector<ChangeRecord>();
    flux.embedded.feed.subscribe((batch) => changes.push(...batch));
    newPublisher().start();
    await changes.until((items) => items.some((change) => change.entityId === DIRECTORY_ENTITY_ID), 'the directory to be published');
    expect((await directoryEntity())?.properties).toMatchObject({ namespaces: { alpha: { entities: 1 } } });
  });

  it('in public mode lists exactly the registered namespaces, empty ones included', async () => {
    const namespaces = new NamespaceService(flux.embedded.control, flux.embedded.state);
    await namespaces.register('alpha');
    await namespaces.register('empty-ns');
    await namespaces.register('gone');
    await write(['alpha/1', 'alpha/2', 'gone/1']);
    await namespaces.delete('gone');
    const directory = newPublisher(() => namespaces.names());
    await refresh(directory);
    expect((await directoryEntity())?.properties).toEqual({
      namespaces: { alpha: { entities: 2 }, 'empty-ns': { entities: 0 } },
      namespace_count: 2,
      total_entities: 3,
      updated_at: '2026-11-24T10:30:45.123Z',
    });

    // Registering a namespace is a change, even with no entities.
    await namespaces.register('newcomer');
    await refresh(directory);
    expect((await directoryEntity())?.properties).toMatchObject({ namespace_count: 3, namespaces: { newcomer: { entities: 0 } } });
    expect((await directoryEntity())?.version).toBe(2);
  });
  it('handles namespaces named like Object.prototype members (constructor, __proto__) as plain names', async () => {
    const namespaces = new NamespaceService(flux.embedded.control, flux.embedded.state);
    await namespaces.register('constructor');
    await namespaces.register('__proto__');
    await write(['__proto__/1', '__proto__/2']);
    const directory = newPublisher(() => namespaces.names());
    await refresh(directory);
    const properties = (await directoryEntity())?.properties as { namespaces: Record<string, unknown>; namespace_count: number };
    expect(Object.entries(properties.namespaces)).toEqual([
      ['__proto__', { entities: 2 }],
      ['constructor', { entities: 0 }],
    ]);
    expect(properties.namespace_count).toBe(2);
    expect((await namespaces.get('constructor')).entityCount).toBe(0);
    expect((await namespaces.get('__proto__')).entityCount).toBe(2);
  });

  it('in internal mode a __proto__ namespace is listed like any other', async () => {
    await write(['__proto__/1', 'constructor/1', 'alpha/1']);
    const directory = newPublisher();
    await refresh(directory);
    const properties = (await directoryEntity())?.properties as { namespaces: Record<string, unknown>; namespace_count: number };
    expect(Object.entries(properties.namespaces)).toEqual([
      ['__proto__', { entities: 1 }],
      ['alpha', { entities: 1 }],
      ['constructor', { entities: 1 }],
    ]);
    expect(properties.namespace_count).toBe(3);
  });
});
