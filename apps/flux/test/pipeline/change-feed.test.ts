/**
 * What the reducers publish to the change feed (and so to WebSocket clients), and the counters
 * they keep alongside the state: every change carries its log position, upserts list each
 * property of the event (null for a removal), deletes only for entities that existed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DELETED_PROPERTY, decodeEvent, parseEnvelope, type ChangeRecord } from '@flux/domain';
import { Collector } from '@flux/core/testing';
import { OPEN, envelope, openPipeline, tempDir, type Pipeline, type TempDir } from './support.js';

let dir: TempDir;
let flux: Pipeline;
let changes: Collector<ChangeRecord>;
const committed: { partition: number; lastOffset: number; events: number }[] = [];

beforeEach(async () => {
  dir = await tempDir();
  committed.length = 0;
  flux = await openPipeline(dir.path, {
    partitionCount: 3,
    maxBatch: 3,
    onCommitted: (partition, lastOffset, events) => committed.push({ partition, lastOffset, events }),
  });
  changes = new Collector<ChangeRecord>();
  flux.embedded.feed.subscribe((batch) => changes.push(...batch));
  await flux.startReducers();
});

afterEach(async () => {
  await flux.close();
  await dir.remove();
});

const tombstone = (id: string) => envelope(id, { [DELETED_PROPERTY]: true }, { source: 'deleter' });

async function publish(inputs: readonly unknown[]): Promise<void> {
  const results = await flux.ingest.publishBatch(inputs, OPEN);
  expect(results.filter((result) => 'error' in result)).toEqual([]);
  await flux.settle();
}

const changesOf = (id: string) => changes.items.filter((change) => change.entityId === id);

describe('change feed', () => {
  it('publishes one positioned change per applied event, in log order per partition', async () => {
    await publish([
      envelope('ns1/a', { x: 1, y: 2 }, { source: 'sensor-1' }),
      envelope('ns1/a', { y: null, z: [1, 2] }, { source: 'sensor-1' }),
      envelope('ns1/b', { v: 1 }),
      envelope('ns2/c', { v: 1 }),
      envelope('loose', { v: 1 }),
      tombstone('ns1/ghost'),
      tombstone('ns1/b'),
      envelope('ns1/b', { fresh: true }),
    ]);
    await flux.ingest.appendEvents([parseEnvelope(envelope('flux-core/system-thing', { internal: true }, { source: 'flux-core' }))]);
    await flux.settle();

    // Every log record maps to at most one change, at its own position; only the tombstone of
    // an entity that never existed produces none.
    const ends = await flux.endOffsets();
    let records = 0;
    for (let partition = 0; partition < ends.length; partition++) {
      const log = await flux.embedded.log.read(partition, 0, ends[partition]!);
      records += log.length;
      const published = changes.items.filter((change) => change.partition === partition);
      const offsets = published.map((change) => change.offset);
      expect(offsets, `offsets of partition ${partition}`).toEqual([...offsets].sort((a, b) => a - b));
      expect(new Set(offsets).size).toBe(offsets.length);
      for (const change of published) {
        const record = log.find((candidate) => candidate.offset === change.offset);
        expect(record?.key).toBe(change.entityId);
        expect(change.timestamp).toBe(record?.timestamp);
        expect(change.source).toBe(decodeEvent(record!.value).source);
      }
    }
    expect(records).toBe(9);
    expect(changes.items).toHaveLength(8);

    const a = changesOf('ns1/a');
    expect(a.map((change) => (change.kind === 'upsert' ? [change.version, change.changes] : change.kind))).toEqual([
      [
        1,
        [
          { property: 'x', value: 1 },
          { property: 'y', value: 2 },
        ],
      ],
      [
        2,
        [
          { property: 'y', value: null },
          { property: 'z', value: [1, 2] },
        ],
      ],
    ]);
    expect(a.every((change) => change.source === 'sensor-1')).toBe(true);
    expect((await flux.embedded.state.getEntity('ns1/a'))?.properties).toEqual({ x: 1, z: [1, 2] });

    expect(changesOf('ns1/ghost')).toEqual([]);
    const b = changesOf('ns1/b');
    expect(b.map((change) => change.kind)).toEqual(['upsert', 'delete', 'upsert']);
    expect(b[1]).toMatchObject({ kind: 'delete', entityId: 'ns1/b', source: 'deleter' });
    expect(b[2]).toMatchObject({ kind: 'upsert', version: 1, changes: [{ property: 'fresh', value: true }] });
    expect((await flux.embedded.state.getEntity('ns1/b'))?.properties).toEqual({ fresh: true });

    // Applied-event counters count every record, the ghost tombstone included.
    expect(await flux.embedded.state.eventsApplied()).toBe(9);
    expect(committed.reduce((sum, commit) => sum + commit.events, 0)).toBe(9);
  });

  it('reports a property written with an unchanged value, and a removal of a missing property, as changes', async () => {
    await publish([envelope('ns/same', { v: 1 })]);
    await publish([envelope('ns/same', { v: 1, gone: null })]);
    const same = changesOf('ns/same');
    expect(same[1]).toMatchObject({
      kind: 'upsert',
      version: 2,
      changes: [
        { property: 'v', value: 1 },
        { property: 'gone', value: null },
      ],
    });
  });

  it('keeps per-namespace counts through creates, deletes and re-creates, never counting flux-core', async () => {
    const { state } = flux.embedded;
    await publish([envelope('ns1/a', { v: 1 }), envelope('ns1/b', { v: 1 }), envelope('ns2/a', { v: 1 }), envelope('loose', { v: 1 })]);
    await flux.ingest.appendEvents([parseEnvelope(envelope('flux-core/directory', { total_entities: 4 }))]);
    await flux.settle();
    expect(await state.counts()).toEqual({ total: 4, byNamespace: { ns1: 2, ns2: 1, '': 1 } });

    // Updates do not count again; a delete of a missing entity changes nothing.
    await publish([envelope('ns1/a', { v: 2 }), tombstone('ns2/missing'), tombstone('ns2/a')]);
    expect(await state.counts()).toEqual({ total: 3, byNamespace: { ns1: 2, '': 1 } });

    // Delete and re-create within one batch: counted once.
    await publish([tombstone('ns1/b'), envelope('ns1/b', { again: true }), tombstone('loose')]);
    expect(await state.counts()).toEqual({ total: 2, byNamespace: { ns1: 2 } });

    const listed = await state.listEntities({ prefix: '', limit: 100 });
    expect(listed.entities.map((record) => record.id)).toEqual(['flux-core/directory', 'ns1/a', 'ns1/b']);
    expect(await state.eventsApplied()).toBe(11);
  });

  it('counts entities of a namespace named __proto__ like any other (property names are plain data)', async () => {
    const { state } = flux.embedded;
    await publish([envelope('__proto__/a', { v: 1 }), envelope('__proto__/b', { v: 1 }), envelope('constructor/a', { v: 1 })]);
    const counts = await state.counts();
    expect(counts.total).toBe(3);
    expect(Object.entries(counts.byNamespace)).toEqual(
      expect.arrayContaining([
        ['__proto__', 2],
        ['constructor', 1],
      ]),
    );

    await publish([tombstone('__proto__/a')]);
    expect(Object.entries((await state.counts()).byNamespace)).toEqual(expect.arrayContaining([['__proto__', 1]]));
    expect((await state.counts()).total).toBe(2);
  });
});
