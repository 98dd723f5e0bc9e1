import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLmdbEnvironment } from '../src/index.js';
import { tempDir } from './temp-dir.js';

describe('openLmdbEnvironment', () => {
  // lmdb-js defaults to overlappingSync on Linux, which resolves writes before they are
  // fsynced (and shows them to readers before they are durable). A killed process cannot
  // reveal the difference (the OS still holds the pages), so the setting itself is pinned here.
  it('opens environments that fsync every commit before resolving it', async () => {
    const dir = await tempDir();
    const root = openLmdbEnvironment(join(dir.path, 'env'));
    try {
      // lmdb-js copies the effective environment options onto the root database.
      const effective = root as unknown as { overlappingSync?: boolean; noSync?: boolean };
      expect(effective.overlappingSync).toBe(false);
      expect(effective.noSync ?? false).toBe(false);
      expect(await root.put('k', 'v')).toBe(true);
    } finally {
      await root.close();
      await dir.remove();
    }
  });

  // State derived from the log may be rolled back by an OS crash and replayed; only the
  // resolve-before-fsync setting differs (`flushed` waits for the fsync).
  it("opens 'visible' environments that resolve commits before their fsync", async () => {
    const dir = await tempDir();
    const root = openLmdbEnvironment(join(dir.path, 'env'), 'visible');
    try {
      const effective = root as unknown as { overlappingSync?: boolean; noSync?: boolean };
      expect(effective.overlappingSync).toBe(true);
      expect(effective.noSync ?? false).toBe(false);
      expect(await root.put('k', 'v')).toBe(true);
      await root.flushed;
    } finally {
      await root.close();
      await dir.remove();
    }
  });

  // lmdb-js grows a small map by mapping the file again and keeps the old mappings, whose
  // resident pages then count twice or more in RSS; the whole map is reserved up front instead.
  it('reserves a map large enough that it is never mapped again as the store grows', async () => {
    const dir = await tempDir();
    const root = openLmdbEnvironment(join(dir.path, 'env'));
    try {
      expect(root.getStats()).toMatchObject({ mapSize: 2 ** 36 });
    } finally {
      await root.close();
      await dir.remove();
    }
  });
});
