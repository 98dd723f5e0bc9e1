import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RUNTIME_CONFIG, ErrorCode } from '@flux/domain';
import { openEmbedded, type Embedded } from '../src/index.js';
import { tempDir } from './temp-dir.js';

describe('openEmbedded', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let embedded: Embedded | undefined;

  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await embedded?.close();
    embedded = undefined;
    await dir.remove();
  });

  it('opens every adapter on one data directory and keeps the data across a restart', async () => {
    const dataDir = join(dir.path, 'nested', 'data');
    embedded = await openEmbedded({ dataDir, partitionCount: 4 });
    for (const part of ['log', 'state', 'control']) expect(existsSync(join(dataDir, part, 'data.mdb'))).toBe(true);

    const [position] = await embedded.log.append([{ partition: 2, key: 'e', value: '{}' }]);
    const claim = await embedded.state.claimPartition(2);
    await embedded.state.commit(claim, {
      lastOffset: position!.offset,
      upserts: [{ id: 'e', entity: { properties: { a: 1 }, version: 1, lastUpdated: 1 } }],
      deletes: [],
      history: [],
      countDeltas: { '': 1 },
      eventsApplied: 1,
    });
    await embedded.control.putRuntimeConfig(DEFAULT_RUNTIME_CONFIG);
    expect((await embedded.rateLimiter.take('ns', 1, 10)).granted).toBe(1);
    const received: unknown[] = [];
    embedded.feed.subscribe((changes) => received.push(changes));
    embedded.feed.publish([{ kind: 'delete', partition: 2, offset: 0, entityId: 'e', timestamp: 1, source: 's' }]);
    expect(received).toHaveLength(1);

    await embedded.close();
    await embedded.close(); // idempotent
    await expect(embedded.log.append([{ partition: 0, key: 'k', value: 'v' }])).rejects.toMatchObject({ code: ErrorCode.LogUnavailable });

    embedded = await openEmbedded({ dataDir, partitionCount: 16 });
    expect(embedded.log.partitionCount).toBe(4);
    expect(await embedded.log.endOffset(2)).toBe(1);
    expect((await embedded.state.claimPartition(2)).appliedOffset).toBe(0);
    expect(await embedded.state.getEntity('e')).toEqual({ properties: { a: 1 }, version: 1, lastUpdated: 1 });
    expect(await embedded.control.getRuntimeConfig()).toEqual(DEFAULT_RUNTIME_CONFIG);
  });

  it('closes what it opened when opening fails', async () => {
    await expect(openEmbedded({ dataDir: dir.path, partitionCount: 0 })).rejects.toThrow(RangeError);
    embedded = await openEmbedded({ dataDir: dir.path, partitionCount: 1 });
    expect(embedded.log.partitionCount).toBe(1);
  });
});
