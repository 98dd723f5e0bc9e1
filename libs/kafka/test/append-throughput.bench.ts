/**
 * Append throughput and delivery latency of KafkaEventLog against a real broker. Not part of
 * the test suite; run it by hand:
 *
 *   eval "$(npm run --silent services:up)"
 *   npx tsx libs/kafka/test/append-throughput.bench.ts [events=50000] [batch=1000]
 */
import { performance } from 'node:perf_hooks';
import { parseBrokers } from '@flux/core/testing';
import { partitionFor } from '@flux/domain';
import type { AppendRecord } from '@flux/core';
import { KafkaEventLog, type SendStats } from '../src/index.js';
import { CapturedLogs, freshTopic } from './support.js';

const PARTITIONS = 12;
const events = Number(process.argv[2] ?? 50_000);
const batch = Number(process.argv[3] ?? 1000);
const brokers = parseBrokers(process.env.KAFKA_BROKERS ?? '');
if (brokers.length === 0) throw new Error('KAFKA_BROKERS is not set (eval "$(npm run --silent services:up)")');

const value = (i: number): string =>
  JSON.stringify({
    id: `evt-${i}`,
    entity: `bench/entity-${i % 5000}`,
    ts: Date.now(),
    data: { temperature: 21.5, humidity: 40, note: 'x'.repeat(150) },
  });
const records = (from: number, count: number): AppendRecord[] =>
  Array.from({ length: count }, (_, k) => {
    const key = `bench/entity-${(from + k) % 5000}`;
    return { partition: partitionFor(key, PARTITIONS), key, value: value(from + k) };
  });

async function run(label: string, body: (log: KafkaEventLog) => Promise<void>): Promise<void> {
  const { topic, dispose } = await freshTopic(brokers, 'bench', PARTITIONS);
  const sends: SendStats[] = [];
  const log = await KafkaEventLog.open({ brokers, topic, logger: new CapturedLogs(), hooks: { onSend: (s) => sends.push(s) } });
  try {
    await log.append(records(0, 10)); // warm-up: metadata, connections
    sends.length = 0;
    const started = performance.now();
    await body(log);
    const seconds = (performance.now() - started) / 1000;
    const sent = sends.reduce((sum, s) => sum + s.records, 0);
    console.log(
      `${label}: ${sent} events in ${seconds.toFixed(2)} s = ${Math.round(sent / seconds)} events/s ` +
        `(${sends.length} produce requests, avg ${Math.round(sent / sends.length)} records, ` +
        `avg ${(sends.reduce((s, x) => s + x.durationMs, 0) / sends.length).toFixed(1)} ms each)`,
    );
  } finally {
    await log.close();
    await dispose();
  }
}

await run(`sequential append() of ${batch}-event batches`, async (log) => {
  for (let i = 0; i < events; i += batch) await log.append(records(i, batch));
});
await run(`concurrent append() of ${batch}-event batches (all at once)`, async (log) => {
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < events; i += batch) calls.push(log.append(records(i, batch)));
  await Promise.all(calls);
});
await run('single-event append() calls, 1000 in flight at a time', async (log) => {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < events) await log.append(records(next++, 1));
  };
  await Promise.all(Array.from({ length: 1000 }, worker));
});

// Delivery latency: subscribe → first batch (group join), then append → handler.
{
  const { topic, dispose } = await freshTopic(brokers, 'bench-latency', 1);
  const log = await KafkaEventLog.open({ brokers, topic, logger: new CapturedLogs() });
  await log.append([{ partition: 0, key: 'k', value: 'first' }]);
  let resolveFirst!: () => void;
  const first = new Promise<void>((resolve) => (resolveFirst = resolve));
  const latencies: number[] = [];
  let waiting: { at: number; resolve: () => void } | undefined;
  const started = performance.now();
  const subscription = log.subscribe(0, 0, async (batchRecords) => {
    if (batchRecords[0]?.offset === 0) resolveFirst();
    if (waiting !== undefined) {
      latencies.push(performance.now() - waiting.at);
      waiting.resolve();
      waiting = undefined;
    }
  });
  await first;
  const startMs = performance.now() - started;
  for (let i = 0; i < 50; i++) {
    const delivered = new Promise<void>((resolve) => (waiting = { at: performance.now(), resolve }));
    await log.append([{ partition: 0, key: 'k', value: `v${i}` }]);
    await delivered;
  }
  latencies.sort((a, b) => a - b);
  console.log(
    `subscribe → first delivery ${startMs.toFixed(0)} ms; append → handler p50 ${latencies[25]!.toFixed(1)} ms, ` +
      `p95 ${latencies[47]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`,
  );
  await subscription.stop();
  await log.close();
  await dispose();
}
