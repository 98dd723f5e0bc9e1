import { describe, expect, it } from 'vitest';
import { pickForDocs, resultsFileName, scenariosFor } from '../src/results.js';
import { benchResults } from './fixtures.js';

describe('resultsFileName', () => {
  const startedAt = new Date('2026-03-04T23:59:00.000Z');

  it('names a full embedded run by its UTC date', () => {
    expect(resultsFileName({ startedAt, deployment: 'embedded', quick: false, complete: true })).toBe('2026-03-04.json');
  });

  it('marks cluster, quick and partial runs', () => {
    expect(resultsFileName({ startedAt, deployment: 'cluster', quick: true, complete: true })).toBe('2026-03-04-cluster-quick.json');
    expect(resultsFileName({ startedAt, deployment: 'embedded', quick: false, complete: false })).toBe('2026-03-04-partial.json');
  });

  it('keeps runs against another checkout apart, by commit', () => {
    expect(resultsFileName({ startedAt, deployment: 'embedded', quick: true, complete: true, externalCommit: 'abcdef0123456789' })).toBe(
      '2026-03-04-quick-flux-abcdef0123.json',
    );
  });
});

describe('pickForDocs', () => {
  const at = (day: number): string => `2026-01-${String(day).padStart(2, '0')}T00:00:00.000Z`;

  it('prefers the newest complete full run over any quick or partial run, even a newer one', () => {
    const full = benchResults({ startedAt: at(1) });
    const newerFull = benchResults({ startedAt: at(2) });
    const quick = benchResults({ startedAt: at(5), quick: true });
    const partial = benchResults({ startedAt: at(6), complete: false });
    expect(pickForDocs([full, quick, newerFull, partial], 'embedded')).toBe(newerFull);
  });

  it('falls back to the newest quick run, then to a partial run', () => {
    const quick = benchResults({ startedAt: at(3), quick: true });
    const partial = benchResults({ startedAt: at(6), complete: false });
    expect(pickForDocs([partial, quick], 'embedded')).toBe(quick);
    expect(pickForDocs([partial], 'embedded')).toBe(partial);
  });

  it('picks per deployment and never shows runs against another checkout', () => {
    const cluster = benchResults({ deployment: 'cluster', startedAt: at(1), quick: true });
    const external = benchResults({ startedAt: at(9), external: true });
    expect(pickForDocs([cluster, external], 'embedded')).toBeUndefined();
    expect(pickForDocs([cluster, external], 'cluster')).toBe(cluster);
  });
});

describe('scenariosFor', () => {
  it('measures memory on the embedded deployment only, and honours --only', () => {
    expect(scenariosFor('embedded', undefined)).toEqual([
      'ingest',
      'batch',
      'reads',
      'websocket',
      'wait-applied',
      'large-entity',
      'filtered-list',
      'memory',
    ]);
    expect(scenariosFor('cluster', undefined)).toEqual(['ingest', 'batch', 'reads', 'websocket', 'wait-applied', 'large-entity', 'filtered-list']);
    expect(scenariosFor('cluster', ['memory', 'batch'])).toEqual(['batch']);
  });
});
