/**
 * Rough batch-ingest throughput: POSTs batches of `--batch` events (default 1000) over
 * `--entities` entities with `--concurrency` requests in flight, then waits until the last
 * event of every entity is materialised. Usage:
 *   npx tsx bench/batch-ingest.ts --url http://localhost:3000 --events 200000
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://localhost:3000' },
    events: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '1000' },
    entities: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '4' },
  },
});
const url = values.url;
const total = Number(values.events);
const batchSize = Number(values.batch);
const entityCount = Number(values.entities);
const concurrency = Number(values.concurrency);
const run = Date.now().toString(36);
const idOf = (i: number): string => `bench-${run}/e${i % entityCount}`;

function batchBody(start: number): string {
  const events = [];
  for (let i = start; i < Math.min(start + batchSize, total); i++) {
    events.push({ stream: 'bench', source: 'bench', timestamp: Date.now(), payload: { entity_id: idOf(i), properties: { seq: i, value: i % 97 } } });
  }
  return JSON.stringify({ events });
}

const started = performance.now();
let next = 0;
async function worker(): Promise<void> {
  while (next < total) {
    const start = next;
    next += batchSize;
    const response = await fetch(`${url}/api/events/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batchBody(start) });
    if (response.status !== 200) throw new Error(`batch failed: ${response.status} ${await response.text()}`);
    const result = (await response.json()) as { failed: number };
    if (result.failed > 0) throw new Error(`${result.failed} events failed`);
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const acknowledged = performance.now();

// The last event of entity k carries the highest seq with seq % entityCount === k.
const lastSeq = (k: number): number => k + Math.floor((total - 1 - k) / entityCount) * entityCount;
for (let k = Math.min(entityCount, total) - 1; k >= 0; k -= Math.max(1, Math.floor(entityCount / 50))) {
  for (;;) {
    const response = await fetch(`${url}/api/state/entities/${encodeURIComponent(idOf(k))}`);
    if (response.status === 200 && ((await response.json()) as { properties: { seq: number } }).properties.seq === lastSeq(k)) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
const visible = performance.now();
const seconds = (visible - started) / 1000;
console.log(
  JSON.stringify({
    events: total,
    batch: batchSize,
    entities: entityCount,
    concurrency,
    acknowledgedSeconds: +((acknowledged - started) / 1000).toFixed(3),
    materialisedSeconds: +seconds.toFixed(3),
    eventsPerSecondMaterialised: Math.round(total / seconds),
  }),
);
