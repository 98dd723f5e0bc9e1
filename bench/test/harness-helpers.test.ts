import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../src/cli-options.js';
import { EntitySet, finalSeq } from '../src/entity-set.js';
import { notePositions } from '../src/materialised.js';
import { labelFromArgs, parseStat, statusFieldBytes } from '../src/proc-stats.js';

describe('parseBenchArgs', () => {
  it('defaults to a full embedded run of this checkout that rewrites the docs', () => {
    expect(parseBenchArgs([], '/repo')).toEqual({
      quick: false,
      deployment: 'embedded',
      fluxRoot: '/repo',
      only: undefined,
      out: undefined,
      writeDocs: true,
      nodeArgs: [],
    });
  });

  it('reads every flag', () => {
    expect(
      parseBenchArgs(
        [
          '--quick',
          '--cluster',
          '--flux-root',
          '/tmp/flux-before',
          '--only',
          'ingest, websocket',
          '--out',
          '/tmp/r.json',
          '--no-docs',
          '--node-args=--cpu-prof  --cpu-prof-dir=/tmp/p',
        ],
        '/repo',
      ),
    ).toEqual({
      quick: true,
      deployment: 'cluster',
      fluxRoot: '/tmp/flux-before',
      only: ['ingest', 'websocket'],
      out: '/tmp/r.json',
      writeDocs: false,
      nodeArgs: ['--cpu-prof', '--cpu-prof-dir=/tmp/p'],
    });
  });

  it('rejects unknown scenarios and flags', () => {
    expect(() => parseBenchArgs(['--only', 'ingest,nope'], '/repo')).toThrow(/--only takes scenario names/);
    expect(() => parseBenchArgs(['--fast'], '/repo')).toThrow();
  });
});

describe('EntitySet', () => {
  const set = new EntitySet('bench-x/batch/', 10, 3);

  it('spreads ids over sub-prefixes and maps them back', () => {
    expect(set.id(7)).toBe('bench-x/batch/g1/e7');
    expect(set.indexOf('bench-x/batch/g1/e7')).toBe(7);
    expect(set.indexOf('bench-x/batch/g2/e7')).toBeUndefined();
    expect(set.indexOf('bench-y/batch/g1/e7')).toBeUndefined();
    expect(set.indexOf('bench-x/batch/g1/e10')).toBeUndefined();
    expect([0, 1, 2].map((group) => set.groupSize(group))).toEqual([4, 3, 3]);
  });

  it('knows the last seq each entity receives when event i goes to entity i % count', () => {
    expect(finalSeq(0, 10, 25)).toBe(20);
    expect(finalSeq(4, 10, 25)).toBe(24);
    expect(finalSeq(5, 10, 25)).toBe(15);
    expect(finalSeq(3, 10, 3)).toBeUndefined();
  });
});

describe('/proc parsing', () => {
  it('reads kB fields of /proc/<pid>/status as bytes', () => {
    const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nRssAnon:\t 1000 kB\n';
    expect(statusFieldBytes(status, 'VmRSS')).toBe(102_400 * 1024);
    expect(statusFieldBytes(status, 'VmHWM')).toBe(204_800 * 1024);
    expect(statusFieldBytes(status, 'RssFile')).toBeUndefined();
  });

  it('finds the process group and CPU ticks after a command name with spaces and parentheses', () => {
    const stat = '4242 (node (main) x) S 1 4200 4200 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 1000 0 0';
    expect(parseStat(stat)).toEqual({ processGroup: 4200, cpuTicks: 300 });
  });

  it('names node processes after the app they run', () => {
    expect(labelFromArgs(['node', '--import', 'tsx', '/flux/apps/reducer/src/main.ts'])).toBe('reducer');
    expect(labelFromArgs(['node', '--import', 'tsx', '/flux/deploy/local/start-cluster.ts'])).toBe('start-cluster');
    expect(labelFromArgs(['java', '-cp', 'x'])).toBeUndefined();
  });
});

describe('notePositions', () => {
  it('keeps the highest acknowledged offset of each partition and skips results without one', () => {
    const positions = new Map<number, number>();
    notePositions(positions, [{ partition: 1, offset: 7 }, { partition: 0, offset: 3 }, { error: 'invalid' } as never]);
    notePositions(positions, [
      { partition: 1, offset: 5 },
      { partition: 0, offset: 9 },
    ]);
    expect([...positions].sort()).toEqual([
      [0, 9],
      [1, 7],
    ]);
  });
});
