/**
 * Preloaded into every process of a soak run (`node --import <this file>`, through the cluster
 * launcher's FLUX_CLUSTER_NODE_ARGS): every FLUX_SOAK_SAMPLE_MS it writes the process's
 * event-loop delay since the last sample (max, p99) and its memory to
 * $FLUX_SOAK_PROBE_DIR/<pid>.json. Plain JavaScript, because it loads before tsx.
 * Reducers serve no /metrics, so this is the one way to see every process alike.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const dir = process.env.FLUX_SOAK_PROBE_DIR;
if (dir) {
  const intervalMs = Number(process.env.FLUX_SOAK_SAMPLE_MS ?? 5000);
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const file = join(dir, `${process.pid}.json`);
  const timer = setInterval(() => {
    const memory = process.memoryUsage();
    const sample = {
      pid: process.pid,
      script: process.argv[1] ?? '',
      at: Date.now(),
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      loopDelayMaxMs: histogram.max / 1e6,
      loopDelayP99Ms: histogram.percentile(99) / 1e6,
    };
    histogram.reset();
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(sample));
      renameSync(`${file}.tmp`, file);
    } catch {
      // the run is being torn down
    }
  }, intervalMs);
  timer.unref();
}
