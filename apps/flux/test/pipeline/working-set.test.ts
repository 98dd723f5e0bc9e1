/**
 * The reducer's working set: a hot entity is loaded from the store once, later batches merge
 * into what the reducer committed, and whatever another owner may have written is read again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEnvelope } from '@flux/domain';
import { EntityWorkingSet, PartitionReducer, type PartitionStateWriter } from '@flux/core';
import { within } from '@flux/core/testing';
import { openEmbedded, type Embedded } from '@flux/embedded';
import { envelope, silentLogger, tempDir, type TempDir } from './support.js';

let dir: TempDir;
let embedded: Embedded;
const reducers: PartitionReducer[] = [];
/** Ids the reducers asked the store for, in order. */
let loads: string[];

beforeEach(async () => {
  dir = await tempDir();
  embedded = await openEmbedded({ dataDir: dir.path, partitionCount: 1 });
  loads = [];
});

afterEach(async () => {
  await Promise.all(reducers.splice(0).map((reducer) => reducer.stop()));
  await embedded.close();
  await dir.remove();
});

const counting = (store: PartitionStateWriter): PartitionStateWriter => ({
  claimPartition: (partition) => store.claimPartition(partition),
  claimEpoch: (partition) => store.claimEpoch(partition),
  commit: (claim, commit) => store.commit(claim, commit),
  expiredEntities: (partition, nowMs, limit) => store.expiredEntities(partition, nowMs, limit),
  loadEntities: (partition, ids) => {
    loads.push(...ids);
    return store.loadEntities(partition, ids);
  },
});

async function startReducer(workingSet: EntityWorkingSet): Promise<PartitionReducer> {
  const reducer = new PartitionReducer({
    partition: 0,
    log: embedded.log,
    store: counting(embedded.state),
    feed: embedded.feed,
    logger: silentLogger,
    workingSet,
    entityBound: { maxProperties: 3, maxBytes: 1_048_576 },
  });
  reducers.push(reducer);
  await reducer.start();
  return reducer;
}

/** Appends one event and resolves once `reducer` applied it. */
async function publish(reducer: PartitionReducer, id: string, properties: Record<string, unknown>): Promise<void> {
  const [position] = await embedded.log.append([{ partition: 0, key: id, value: JSON.stringify(parseEnvelope(envelope(id, properties))) }]);
  await within(reducer.waitForOffset(position!.offset), `the reducer to apply offset ${position!.offset}`);
}

describe('the reducer working set', () => {
  it('loads an entity once; later batches merge into what the reducer committed, bound included', async () => {
    const reducer = await startReducer(new EntityWorkingSet());
    await publish(reducer, 'ns/hot', { a: 1 });
    await publish(reducer, 'ns/hot', { b: 2 });
    await publish(reducer, 'ns/hot', { a: null, c: 3 });
    await publish(reducer, 'ns/hot', { d: 4, e: 5 }); // 4 properties: over the bound, not applied
    await publish(reducer, 'ns/hot', { d: 4 });
    expect(loads).toEqual(['ns/hot']);
    expect(await embedded.state.getEntity('ns/hot')).toMatchObject({ properties: { b: 2, c: 3, d: 4 }, version: 4 });
    const history = await embedded.state.history('ns/hot', { sinceMs: 0, limit: 10 });
    expect(history).toHaveLength(4);
  });

  it('a deleted entity is known absent, and comes back fresh', async () => {
    const reducer = await startReducer(new EntityWorkingSet());
    await publish(reducer, 'ns/gone', { a: 1 });
    await publish(reducer, 'ns/gone', { __deleted__: true });
    await publish(reducer, 'ns/gone', { b: 2, c: 3, d: 4 }); // three: within the bound once a is gone
    expect(loads).toEqual(['ns/gone']);
    expect(await embedded.state.getEntity('ns/gone')).toMatchObject({ properties: { b: 2, c: 3, d: 4 }, version: 1 });
  });

  it('reads the store again after a new claim: another owner may have written meanwhile', async () => {
    const workingSet = new EntityWorkingSet();
    const first = await startReducer(workingSet);
    await publish(first, 'ns/moved', { owner: 'first' });
    await first.stop();

    // Another process (its own working set) owns the partition for a while.
    const other = await startReducer(new EntityWorkingSet());
    await publish(other, 'ns/moved', { owner: 'other', extra: true });
    await other.stop();

    const again = await startReducer(workingSet);
    await publish(again, 'ns/moved', { last: 'again' });
    expect(await embedded.state.getEntity('ns/moved')).toMatchObject({ properties: { owner: 'other', extra: true, last: 'again' }, version: 3 });
    expect(loads).toEqual(['ns/moved', 'ns/moved', 'ns/moved']);
  });
});
