import { describe, expect, it } from 'vitest';
import { summariseCpuProfile, type CpuProfile } from '../src/cpu-profile-summary.js';

const frame = (functionName: string, url = '') => ({ functionName, url });

/**
 * root ─┬─ (idle)                                     3 ms
 *       ├─ (garbage collector)                        1 ms
 *       ├─ apply (partition-reducer.ts) ─ put (lmdb-state-store.ts) ─ writeInstructions (lmdb/write.js)   4 ms
 *       │                               └─ (self)                                                          2 ms
 *       └─ routeHandler (fastify) ─ parse (body-parser.ts)   1 ms, and the handler itself 1 ms
 */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 7] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('(garbage collector)') },
    { id: 4, callFrame: frame('apply', 'file:///flux/libs/core/src/reducer/partition-reducer.ts'), children: [5] },
    { id: 5, callFrame: frame('put', 'file:///flux/libs/embedded/src/lmdb-state-store.ts'), children: [6] },
    { id: 6, callFrame: frame('writeInstructions', 'file:///flux/node_modules/lmdb/write.js') },
    { id: 7, callFrame: frame('routeHandler', 'file:///flux/node_modules/fastify/lib/route.js'), children: [8] },
    { id: 8, callFrame: frame('parse', 'file:///flux/libs/api/src/http/body-parser.ts') },
  ],
  samples: [2, 2, 2, 3, 6, 6, 6, 6, 4, 4, 8, 7],
  timeDeltas: Array.from({ length: 12 }, () => 1000),
};

describe('summariseCpuProfile', () => {
  const byPart = new Map(summariseCpuProfile(profile).map((share) => [share.part, share]));
  const part = (prefix: string) => [...byPart.values()].find((share) => share.part.startsWith(prefix))!;

  it('charges a sample to the first part on its stack, whoever called it', () => {
    expect(part('state store').ms).toBe(4); // under the reducer, but inside the state store
    expect(part('reducers').ms).toBe(2);
    expect(part('HTTP body parsing').ms).toBe(1);
    expect(part('HTTP (Fastify').ms).toBe(1);
    expect(part('garbage collection').ms).toBe(1);
  });

  it('reports idle time apart from the busy total', () => {
    expect(part('idle')).toMatchObject({ ms: 3, ofAll: 0.25, ofBusy: undefined });
    expect(part('state store').ofBusy).toBeCloseTo(4 / 9, 10);
    expect(part('state store').ofAll).toBeCloseTo(4 / 12, 10);
    const busyShares = [...byPart.values()].reduce((sum, share) => sum + (share.ofBusy ?? 0), 0);
    expect(busyShares).toBeCloseTo(1, 10);
  });

  it('counts a sample for the time until the next one, as DevTools does', () => {
    // idle, then 40 ms before the GC sample is taken, then 1 ms: the idle sample stands for 40 ms.
    const shares = summariseCpuProfile({ ...profile, samples: [2, 3, 3], timeDeltas: [1000, 40_000, 1000] });
    const of = (prefix: string) => shares.find((share) => share.part.startsWith(prefix))!.ms;
    expect(of('idle')).toBe(40);
    expect(of('garbage collection')).toBe(2);
  });

  it('summarises an empty profile as zeros', () => {
    const empty = summariseCpuProfile({ nodes: [], samples: [], timeDeltas: [] });
    expect(empty.every((share) => share.ms === 0 && share.ofAll === 0)).toBe(true);
  });
});
