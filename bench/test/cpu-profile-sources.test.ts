import { SourceMapGenerator } from 'source-map-js';
import { describe, expect, it } from 'vitest';
import { withSourceLocations } from '../src/cpu-profile-sources.js';
import { summariseCpuProfile, type CpuProfile } from '../src/cpu-profile-summary.js';

const BUNDLE = 'file:///flux/node_modules/.cache/flux/start/main.js';

/** A bundle whose line 10 came from the state store and line 20 from the body parser. */
function bundleMap(): ReturnType<SourceMapGenerator['toJSON']> {
  const map = new SourceMapGenerator({ file: 'main.js' });
  map.addMapping({
    generated: { line: 10, column: 2 },
    original: { line: 40, column: 0 },
    source: '../../../../libs/embedded/src/lmdb-state-store.ts',
  });
  map.addMapping({ generated: { line: 20, column: 0 }, original: { line: 7, column: 4 }, source: '../../../../libs/api/src/http/body-parser.ts' });
  return map.toJSON();
}

const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 }, children: [2, 3, 4] },
    // V8 counts from 0: line 9 is the map's line 10.
    { id: 2, callFrame: { functionName: 'commit', url: BUNDLE, lineNumber: 9, columnNumber: 2 } },
    { id: 3, callFrame: { functionName: 'parse', url: BUNDLE, lineNumber: 19, columnNumber: 0 } },
    { id: 4, callFrame: { functionName: 'write', url: 'file:///flux/node_modules/lmdb/write.js', lineNumber: 3, columnNumber: 0 } },
  ],
  samples: [2, 2, 3, 4],
  timeDeltas: [1000, 1000, 1000, 1000],
};

describe('withSourceLocations', () => {
  const located = withSourceLocations(profile, (url) => (url === BUNDLE ? bundleMap() : undefined));

  it('gives a bundled frame the source file and position its function came from', () => {
    const frames = new Map(located.nodes.map((node) => [node.callFrame.functionName, node.callFrame]));
    expect(frames.get('commit')).toMatchObject({ url: 'file:///flux/libs/embedded/src/lmdb-state-store.ts', lineNumber: 39, columnNumber: 0 });
    expect(frames.get('parse')).toMatchObject({ url: 'file:///flux/libs/api/src/http/body-parser.ts', lineNumber: 6, columnNumber: 4 });
    // No map beside it, or no script at all: unchanged.
    expect(frames.get('write')?.url).toBe('file:///flux/node_modules/lmdb/write.js');
    expect(frames.get('(root)')?.url).toBe('');
  });

  it('lets the summary tell the parts of a bundled server apart', () => {
    const before = new Map(summariseCpuProfile(profile).map((share) => [share.part, share.ms]));
    const after = new Map(summariseCpuProfile(located).map((share) => [share.part, share.ms]));
    const part = (shares: Map<string, number>, prefix: string) => [...shares].find(([name]) => name.startsWith(prefix))?.[1];
    expect(part(before, 'state store')).toBe(0);
    expect(part(after, 'state store')).toBe(2);
    expect(part(after, 'HTTP body parsing')).toBe(1);
  });
});
