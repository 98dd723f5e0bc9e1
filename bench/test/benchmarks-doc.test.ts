import { describe, expect, it } from 'vitest';
import { renderBenchmarksDoc } from '../src/benchmarks-doc.js';
import { batch, benchResults, disk, embeddedScenarios, websocket, websocketRate } from './fixtures.js';

describe('renderBenchmarksDoc', () => {
  it('shows both deployments, every target with its verdict, and the chart', () => {
    const embedded = benchResults({
      scenarios: embeddedScenarios({ websocket: websocket([websocketRate(5000, 3, 12)], disk('tmpfs')) }),
    });
    const cluster = benchResults({ deployment: 'cluster', quick: true, scenarios: {} });
    const doc = renderBenchmarksDoc(embedded, cluster);
    expect(doc).toContain('![p50 and p99 latency against offered rate](benchmarks/latency.svg)');
    expect(doc).toMatch(
      /\| embedded \| publish → WebSocket p99 at 5000 events\/s, data on tmpfs \| < 10\.0 ms \| 12\.0 ms \| not met \(on tmpfs tmpfs at \/dev\/shm\) \|/,
    );
    expect(doc).toMatch(
      /\| embedded \| publish → WebSocket p99 at 5000 events\/s, data on disk \| < 25\.0 ms \| — \| not evaluated \(this run’s data was on tmpfs/,
    );
    expect(doc).toMatch(
      /\| embedded \| batch ingest \(batches of 1000\), events\/s until materialised \| ≥ 150,000 events\/s \| 350,000 events\/s \| met \|/,
    );
    expect(doc).toMatch(/\| embedded \| batch ingest .*: the moonshot \| ≥ 300,000 events\/s \| 350,000 events\/s \| met \|/);
    expect(doc).toMatch(/\| embedded \| GET .* as a ratio of a bare Fastify GET of a stored object \| ≥ 0\.8× baseline \| 0\.90× \| met \|/);
    expect(doc).toMatch(/\| embedded \| server CPU at 1000 events\/s .* \| ≤ 0\.30 cores \| 0\.25 cores \| met \|/);
    expect(doc).toMatch(
      /\| embedded \| worst server event-loop delay under every scenario \| < 20\.0 ms \| 5\.00 ms \| met \(worst under ingest\) \|/,
    );
    expect(doc).toMatch(/\| embedded \| resident memory when idle .* \| < 80 MB \| 70 MB \| met \|/);
    expect(doc).toMatch(/\| cluster \| batch ingest .* \| — \| not evaluated \(batch ingest not run\) \|/);
    expect(doc).toMatch(/\| cluster \| CPU per 100k batched events .* \| ≤ 3\.00 CPU-s \| — \| not evaluated/);
    expect(doc).toContain('### Embedded: ');
    expect(doc).toContain('### Cluster: ');
    expect(doc).toContain('#### Batch ingest');
  });

  it('shows the GET comparison with the baseline, the data disk, CPU figures and the event-loop delay per scenario', () => {
    const embedded = benchResults({
      scenarios: embeddedScenarios({ batch: [batch(1000, 200_000, 3, 1.5)] }),
      serverEventLoopDelayMaxMs: { ingest: 3, batch: 42.5, reads: null },
    });
    const doc = renderBenchmarksDoc(embedded, undefined);
    expect(doc).toMatch(/#### Reads[\s\S]*\*\*Flux \/ baseline = 0\.90\*\*[\s\S]*\| bare Fastify baseline \| 30,000 req\/s \|/);
    expect(doc).toContain('Server data on ext4 /dev/vda at / (`/tmp/flux-bench-1`).');
    // 4.5 CPU-s over 20,000 events.
    expect(doc).toMatch(/\| 1,000 \| 20,000 \| .* \| \*\*200,000\*\* \| 22\.50 \(services 7\.50\) \|/);
    expect(doc).toMatch(/\| 1,000\/s \| 1,000\/s \| .* \| 0 \| 0\.25 \|/);
    expect(doc).toMatch(
      /#### Server event-loop delay[\s\S]*\| ingest \| batch \| reads \|\n\| --- \| --- \| --- \|\n\| 3\.00 ms \| 42\.5 ms \| — \|/,
    );
    expect(doc).toMatch(/\| worst server event-loop delay under every scenario \| < 20\.0 ms \| 42\.5 ms \| not met \(worst under batch; /);
  });

  it('says how to get figures when there are none', () => {
    expect(renderBenchmarksDoc(undefined, undefined)).toContain('No results yet: run `npm run bench`.');
  });
});
