import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, parseEnvelope } from '@flux/domain';
import { PartitionReducer } from '@flux/core';
import { within } from '@flux/core/testing';
import { openEmbedded, type Embedded } from '@flux/embedded';
import { envelope, OPEN, openPipeline, silentLogger, tempDir, type TempDir } from './support.js';

let dir: TempDir;
let embedded: Embedded;
let reducer: PartitionReducer | undefined;

beforeEach(async () => {
  dir = await tempDir();
  embedded = await openEmbedded({ dataDir: dir.path, partitionCount: 1 });
});

afterEach(async () => {
  await reducer?.stop();
  await embedded.close();
  await dir.remove();
});

const append = (id: string, properties: Record<string, unknown>) =>
  embedded.log.append([{ partition: 0, key: id, value: JSON.stringify(parseEnvelope(envelope(id, properties))) }]);

describe('entity bound at the reducer', () => {
  it('an event that would push an entity past the bound leaves it unchanged; later events still apply', async () => {
    const refused: string[] = [];
    reducer = new PartitionReducer({
      partition: 0,
      log: embedded.log,
      store: embedded.state,
      feed: embedded.feed,
      logger: silentLogger,
      entityBound: { maxProperties: 3, maxBytes: 1_048_576 },
      onRefused: (reason) => refused.push(reason),
    });
    await reducer.start();
    await append('ns/big', { a: 1, b: 2 });
    await append('ns/big', { c: 3, d: 4 }); // would make 4 properties
    await append('ns/big', { a: 10, c: 30 }); // 3 properties: fine
    await within(reducer.waitForOffset(2), 'the reducer to reach offset 2');
    expect(await embedded.state.getEntity('ns/big')).toMatchObject({ properties: { a: 10, b: 2, c: 30 }, version: 2 });
    expect(refused).toEqual(['entity_limit']);
  });
});

describe('entity bound at ingest', () => {
  it('refuses an event whose properties alone exceed the bound, appending nothing; in a batch only that element', async () => {
    const own = await tempDir();
    const flux = await openPipeline(own.path, { partitionCount: 1, entityBound: { maxProperties: 3, maxBytes: 64 } });
    try {
      await flux.startReducers();
      const tooMany = envelope('ns/e', { a: 1, b: 2, c: 3, d: 4 });
      await expect(flux.ingest.publish(tooMany, OPEN)).rejects.toMatchObject({
        code: ErrorCode.PayloadTooLarge,
        message: expect.stringMatching(/payload\.properties.*limit of 3/),
      });
      await expect(flux.ingest.publish(envelope('ns/e', { text: 'x'.repeat(64) }), OPEN)).rejects.toMatchObject({
        message: expect.stringMatching(/limit of 64/),
      });
      // Removals take no room, and a tombstone is never bounded.
      await flux.ingest.publish(envelope('ns/e', { a: 1, b: 2, c: 3, d: null }), OPEN);
      await flux.ingest.publish(envelope('ns/gone', { __deleted__: true, a: 1, b: 2, c: 3, d: 4 }), OPEN);
      expect(await flux.endOffsets()).toEqual([2]);

      const results = await flux.ingest.publishBatch([envelope('ns/b', { x: 1 }), { ...tooMany, eventId: 'big' }, envelope('ns/b', { y: 2 })], OPEN);
      expect(results[1]).toEqual({ error: expect.stringMatching(/limit of 3/), eventId: 'big', stream: 'test.pipeline' });
      expect(results.filter((result) => 'error' in result)).toHaveLength(1);
      await flux.settle();
      expect(await flux.embedded.state.getEntity('ns/b')).toMatchObject({ properties: { x: 1, y: 2 }, version: 2 });
    } finally {
      await flux.close();
      await own.remove();
    }
  });
});
