import { describe, expect, it } from 'vitest';
import { DEFAULT_RUNTIME_CONFIG, type RuntimeConfig } from '@flux/domain';
import { LmdbControlStore } from '../src/index.js';
import { tempDir } from './temp-dir.js';

describe('LmdbControlStore', () => {
  it('notifies watchers only of writes to their own data directory, isolating failures', async () => {
    const [dirA, dirB] = await Promise.all([tempDir(), tempDir()]);
    const errors: unknown[] = [];
    const a = LmdbControlStore.openIn(dirA.path, { onListenerError: (error) => errors.push(error) });
    const b = LmdbControlStore.openIn(dirB.path);
    try {
      const seenA: RuntimeConfig[] = [];
      const seenB: RuntimeConfig[] = [];
      a.watchRuntimeConfig(() => {
        throw new Error('watcher failed');
      });
      a.watchRuntimeConfig((config) => seenA.push(config));
      b.watchRuntimeConfig((config) => seenB.push(config));

      const config = { ...DEFAULT_RUNTIME_CONFIG, rate_limit_enabled: false };
      await a.putRuntimeConfig(config);
      // Watchers are called once the write committed, before putRuntimeConfig resolves.
      expect(seenA).toEqual([config]);
      expect(seenB).toEqual([]);
      expect(errors).toHaveLength(1);
      expect(await b.getRuntimeConfig()).toBeUndefined();
    } finally {
      await Promise.all([a.close(), b.close()]);
      await Promise.all([dirA.remove(), dirB.remove()]);
    }
  });
});
