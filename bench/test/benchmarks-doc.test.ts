import { describe, expect, it } from 'vitest';
import { renderBenchmarksDoc } from '../src/benchmarks-doc.js';
import { benchResults, embeddedScenarios, websocketRate } from './fixtures.js';

describe('renderBenchmarksDoc', () => {
  it('shows both deployments, every target with its verdict, and the chart', () => {
    const embedded = benchResults({
      scenarios: embeddedScenarios({ websocket: { subscribers: 100, entitiesPerSubscriber: 10, rates: [websocketRate(5000, 3, 12)] } }),
    });
    const cluster = benchResults({ deployment: 'cluster', quick: true, scenarios: {} });
    const doc = renderBenchmarksDoc(embedded, cluster);
    expect(doc).toContain('![p50 and p99 latency against offered rate](benchmarks/latency.svg)');
    expect(doc).toMatch(/\| embedded \| publish → WebSocket p99 at 5000 events\/s \| < 10\.0 ms \| 12\.0 ms \| not met \|/);
    expect(doc).toMatch(
      /\| embedded \| batch ingest \(batches of 1000\), events\/s until materialised \| ≥ 300,000 events\/s \| 350,000 events\/s \| met \|/,
    );
    expect(doc).toMatch(/\| cluster \| batch ingest .* \| — \| not evaluated \(batch ingest not run\) \|/);
    expect(doc).toContain('### Embedded: ');
    expect(doc).toContain('### Cluster: ');
    expect(doc).toContain('#### Batch ingest');
  });

  it('says how to get figures when there are none', () => {
    expect(renderBenchmarksDoc(undefined, undefined)).toContain('No results yet: run `npm run bench`.');
  });
});
