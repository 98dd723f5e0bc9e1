/**
 * Rough publish → WebSocket latency: one subscriber, `--events` single-event POSTs at
 * `--rate` per second (open loop), each carrying its send time; the subscriber records when
 * the matching state_update arrives. Usage:
 *   npx tsx bench/ws-latency.ts --url http://localhost:3000 --rate 500 --events 5000
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://localhost:3000' },
    rate: { type: 'string', default: '500' },
    events: { type: 'string', default: '5000' },
  },
});
const url = values.url;
const rate = Number(values.rate);
const total = Number(values.events);
const run = Date.now().toString(36);
const latencies: number[] = [];
const sentAt = new Map<number, number>();

const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/ws`);
await new Promise((resolve, reject) => {
  socket.once('open', resolve);
  socket.once('error', reject);
});
socket.send(JSON.stringify({ type: 'subscribe', entity_id: '*' }));
const done = new Promise<void>((resolve) => {
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { type: string; entity_id?: string; property?: string; value?: unknown };
    if (message.type !== 'state_update' || message.property !== 'n' || !message.entity_id?.startsWith(`lat-${run}/`)) return;
    const sent = sentAt.get(message.value as number);
    if (sent !== undefined) latencies.push(performance.now() - sent);
    if (latencies.length === total) resolve();
  });
});

const interval = 1000 / rate;
const start = performance.now();
const inflight: Promise<unknown>[] = [];
for (let n = 0; n < total; n++) {
  const due = start + n * interval;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  // Open loop: latency is measured from when the event was due, so a stalled sender counts.
  sentAt.set(n, due);
  inflight.push(
    fetch(`${url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ stream: 'bench', source: 'latency', timestamp: Date.now(), payload: { entity_id: `lat-${run}/e${n % 100}`, properties: { n } } }),
    }).then((response) => response.arrayBuffer()),
  );
}
await Promise.all(inflight);
await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 30_000))]);
socket.close();
latencies.sort((a, b) => a - b);
const pct = (p: number): number => +(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN).toFixed(2);
console.log(JSON.stringify({ rate, events: total, received: latencies.length, p50Ms: pct(50), p99Ms: pct(99), p999Ms: pct(99.9), maxMs: pct(100) }));
