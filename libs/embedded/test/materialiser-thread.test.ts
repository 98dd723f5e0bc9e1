import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { EventAppender, type ReducerObserver } from '@flux/core';
import type { ChangeRecord, CommitProgress, FluxEvent } from '@flux/domain';
import { MaterialiserThread, openEmbedded, type Embedded } from '../src/index.js';
import { tempDir } from './temp-dir.js';

const ENTRY = new URL('./fixtures/materialiser-entry.ts', import.meta.url);
const PARTITIONS = 4;

let eventCount = 0;
const event = (entityId: string, properties: Record<string, unknown>): FluxEvent => ({
  eventId: `materialiser-thread-${++eventCount}`,
  stream: 'test',
  source: 'materialiser-thread.test',
  timestamp: 1_700_000_000_000,
  payload: { entity_id: entityId, properties },
});

describe('MaterialiserThread', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let embedded: Embedded;
  let thread: MaterialiserThread | undefined;

  beforeEach(async () => {
    dir = await tempDir();
    embedded = await openEmbedded({ dataDir: dir.path, partitionCount: PARTITIONS });
  });
  afterEach(async () => {
    await thread?.stop();
    thread = undefined;
    await embedded.close();
    await dir.remove();
  });

  const start = (workerData: Record<string, unknown> = {}): MaterialiserThread => {
    thread = new MaterialiserThread({
      entry: ENTRY,
      workerData: { dataDir: dir.path, partitionCount: PARTITIONS, ...workerData },
      log: embedded.log,
      state: embedded.state,
      feed: embedded.feed,
      logger: pino({ level: 'silent' }),
    });
    return thread;
  };

  it('applies on its own thread what this thread appends, and a read here sees each commit as soon as it is announced', async () => {
    const appender = new EventAppender(embedded.log);
    await appender.append([event('before/start', { n: 0 })]);
    const materialiser = start();
    await materialiser.start();
    expect(materialiser.recovered).toBe(true);
    expect(await embedded.state.getEntity('before/start')).toMatchObject({ properties: { n: 0 }, version: 1 });

    // Each read is made in the listener, in the same turn as the news of the commit, while
    // other reads keep this thread's read snapshot busy (lmdb-js renews it only once a timer
    // turn passed after a read).
    let reading = true;
    const keepReading = (): void => {
      embedded.state.getEntityJson('thing/0').catch(() => undefined);
      if (reading) setImmediate(keepReading);
    };
    keepReading();
    // Per change announced: the version it made, and the version a read in that turn found.
    const seen: Promise<{ announced: number; read: number | undefined }>[] = [];
    const published: { changes: readonly ChangeRecord[]; progress: CommitProgress | undefined }[] = [];
    embedded.feed.subscribe((changes, progress) => {
      published.push({ changes, progress });
      for (const change of changes) {
        if (change.kind !== 'upsert') continue;
        const read = embedded.state.getEntity(change.entityId);
        seen.push(read.then((entity) => ({ announced: change.version, read: entity?.version })));
      }
    });
    for (let n = 1; n <= 50; n++) {
      const [position] = await appender.append([event(`thing/${n % 5}`, { n })]);
      await expect
        .poll(() => published.some(({ progress }) => progress?.partition === position!.partition && progress.lastOffset >= position!.offset))
        .toBe(true);
    }
    reading = false;
    const reads = await Promise.all(seen);
    expect(reads).toHaveLength(50);
    // Every read saw at least the commit it was told of, creations and updates alike.
    expect(reads.filter(({ announced, read }) => read === undefined || read < announced)).toEqual([]);
    expect((await embedded.state.getEntity('thing/0'))?.properties).toEqual({ n: 50 });
    expect((await embedded.state.counts()).total).toBe(6);
    expect(await materialiser.lag()).toEqual(Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, records: 0 })));
    expect(materialiser.partitionsOwned).toBe(PARTITIONS);
  });

  it('reports its commits to the observer of this thread', async () => {
    const materialiser = start();
    const committed: number[] = [];
    const observer: ReducerObserver = {
      committed: (_partition, events) => committed.push(events),
      fenced: () => undefined,
      refused: () => undefined,
      handover: () => undefined,
      expired: () => undefined,
    };
    materialiser.observe(observer);
    await materialiser.start();
    await new EventAppender(embedded.log).append([event('a', { x: 1 }), event('b', { x: 2 }), event('c', { x: 3 })]);
    await expect.poll(() => committed.reduce((sum, events) => sum + events, 0)).toBe(3);
  });

  it('stops after the batch in hand: what it acknowledged stays applied, and a new thread resumes after it', async () => {
    const appender = new EventAppender(embedded.log);
    const materialiser = start();
    await materialiser.start();
    await appender.append(Array.from({ length: 200 }, (_, n) => event(`e/${n}`, { n })));
    await materialiser.stop();
    expect(materialiser.partitionsOwned).toBe(0);
    await appender.append([event('after/stop', { n: 1 })]);

    const next = start();
    await next.start();
    expect((await embedded.state.counts()).total).toBe(201);
    // Each event applied once, across the stop: none lost, none applied again.
    expect(await embedded.state.eventsApplied()).toBe(201);
    expect(await embedded.state.getEntity('after/stop')).toMatchObject({ version: 1 });
  });

  it('fails when its thread ends unasked, so the process can exit and recover', async () => {
    const materialiser = start({ exitAtOnce: true });
    await expect(materialiser.failed).rejects.toThrow('the materialiser thread exited with code 3');
    await expect(materialiser.start()).rejects.toThrow('exited with code 3');
    expect(materialiser.partitionsOwned).toBe(0);
    expect(materialiser.recovered).toBe(false);
  });
});
