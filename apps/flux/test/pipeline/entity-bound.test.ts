import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEnvelope } from '@flux/domain';
import { PartitionReducer } from '@flux/core';
import { within } from '@flux/core/testing';
import { openEmbedded, type Embedded } from '@flux/embedded';
import { envelope, silentLogger, tempDir, type TempDir } from './support.js';

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
