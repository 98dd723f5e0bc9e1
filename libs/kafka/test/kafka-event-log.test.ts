import { createRequire } from 'node:module';
import { afterAll, afterEach, expect, it, vi } from 'vitest';
import { Kafka, KafkaJSNonRetriableError } from 'kafkajs';
import { ErrorCode, partitionFor } from '@flux/domain';
import type { LogRecord } from '@flux/core';
import { Collector, describeWithKafka, within } from '@flux/core/testing';
import {
  KafkaEventLog,
  PRODUCER_SETTINGS,
  ensureKafkaTopic,
  type KafkaEventLogOptions,
  type KafkaRequestInfo,
  type SendStats,
} from '../src/index.js';
import { CapturedLogs, freshTopic, uniqueTopic } from './support.js';

/** kafkajs' broker connection (not exported): where a produce request's answer can be lost. */
const KafkajsBroker = createRequire(import.meta.url)('kafkajs/src/broker/index.js') as {
  prototype: { produce(...args: unknown[]): Promise<unknown> };
};

describeWithKafka('KafkaEventLog (Kafka specifics)', (brokers) => {
  const logs: KafkaEventLog[] = [];
  const disposers: (() => Promise<void>)[] = [];
  const logger = new CapturedLogs();
  const admin = new Kafka({ brokers: [...brokers], clientId: 'flux-kafka-test-admin', logLevel: 0 }).admin();
  let adminConnected: Promise<void> | undefined;
  const connectedAdmin = async () => {
    adminConnected ??= admin.connect();
    await adminConnected;
    return admin;
  };

  async function open(partitionCount: number, extra: Partial<KafkaEventLogOptions> = {}): Promise<{ log: KafkaEventLog; topic: string }> {
    const { topic, dispose } = await freshTopic(brokers, 'adapter', partitionCount);
    disposers.push(dispose);
    const log = await KafkaEventLog.open({ brokers, topic, logger, ...extra });
    logs.push(log);
    return { log, topic };
  }

  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(logs.splice(0).map((log) => log.close()));
    await Promise.allSettled(disposers.splice(0).map((dispose) => dispose()));
  });
  afterAll(async () => {
    if (adminConnected !== undefined) await admin.disconnect();
  });

  it('coalesces many concurrent appends into few produce requests, answering each caller with its own position', async () => {
    const sends: SendStats[] = [];
    const requests: KafkaRequestInfo[] = [];
    const { log } = await open(4, { hooks: { onSend: (s) => sends.push(s), onProducerRequest: (r) => requests.push(r) } });
    const produceRequests = () => requests.filter((r) => r.apiName === 'Produce').length;
    const before = produceRequests();

    const calls = Array.from({ length: 300 }, (_, i) => log.append([{ partition: i % 4, key: `entity-${i}`, value: `{"i":${i}}` }]));
    const positions = (await Promise.all(calls)).map(([p]) => p!);

    const produced = produceRequests() - before;
    expect(produced).toBeGreaterThanOrEqual(1);
    expect(produced).toBeLessThanOrEqual(5);
    expect(sends.reduce((sum, s) => sum + s.records, 0)).toBe(300);
    expect(sends.length).toBe(produced);
    expect(Math.max(...sends.map((s) => s.calls))).toBeGreaterThan(50);
    // Every caller got a distinct position, and it holds the caller's record.
    for (const partition of [0, 1, 2, 3]) {
      const mine = positions.filter((p) => p.partition === partition).map((p) => p.offset);
      expect([...mine].sort((a, b) => a - b)).toEqual(Array.from({ length: 75 }, (_, i) => i));
      const stored = await log.read(partition, 0, 100);
      expect(stored).toHaveLength(75);
    }
    for (const [i, position] of positions.entries()) {
      if (i % 37 !== 0) continue;
      const [stored] = await log.read(position.partition, position.offset, 1);
      expect(stored?.key).toBe(`entity-${i}`);
    }
  });

  it('adopts the partition count of an existing topic, and refuses a missing topic it may not create', async () => {
    const topic = uniqueTopic('adopt');
    const created = await ensureKafkaTopic({ brokers, topic, partitionCount: 5, logger });
    disposers.push(async () => (await connectedAdmin()).deleteTopics({ topics: [topic] }));
    expect(created).toEqual({ topic, partitionCount: 5, created: true });
    expect(await ensureKafkaTopic({ brokers, topic, partitionCount: 2, logger })).toEqual({ topic, partitionCount: 5, created: false });

    const asked3 = await KafkaEventLog.open({ brokers, topic, partitionCount: 3, logger });
    logs.push(asked3);
    expect(asked3.partitionCount).toBe(5);
    expect(await asked3.append([{ partition: 4, key: 'k', value: 'v' }])).toEqual([{ partition: 4, offset: 0 }]);
    await expect(asked3.append([{ partition: 5, key: 'k', value: 'v' }])).rejects.toThrow(RangeError);
    const unspecified = await KafkaEventLog.open({ brokers, topic, logger });
    logs.push(unspecified);
    expect(unspecified.partitionCount).toBe(5);
    expect(logger.entries.some((e) => /another partition count/.test(e.msg))).toBe(true);

    await expect(KafkaEventLog.open({ brokers, topic: uniqueTopic('missing'), createTopic: false, partitionCount: 3, logger })).rejects.toMatchObject(
      {
        code: ErrorCode.NotConfigured,
      },
    );
  });

  it('creates topics with the requested partitions and a replication factor of 1 by default', async () => {
    const { topic } = await open(3);
    const metadata = await (await connectedAdmin()).fetchTopicMetadata({ topics: [topic] });
    const partitions = metadata.topics[0]!.partitions;
    expect(partitions).toHaveLength(3);
    expect(partitions.every((p) => p.replicas.length === 1)).toBe(true);
    const configs = await (
      await connectedAdmin()
    ).describeConfigs({
      resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['min.insync.replicas'] }],
      includeSynonyms: false,
    });
    expect(configs.resources[0]?.configEntries[0]?.configValue).toBe('1');
  });

  it('produces through an idempotent producer with acks=all and one request in flight', async () => {
    const producerFactory = vi.spyOn(Kafka.prototype, 'producer');
    const requests: KafkaRequestInfo[] = [];
    const { log } = await open(2, { hooks: { onProducerRequest: (r) => requests.push(r) } });
    expect(producerFactory).toHaveBeenCalledTimes(1);
    const config = producerFactory.mock.calls[0]![0]!;
    expect(config).toMatchObject({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    expect(config.retry?.retries).toBe(Number.MAX_SAFE_INTEGER);
    const producer = producerFactory.mock.results[0]!.value as ReturnType<Kafka['producer']>;
    expect(producer.isIdempotent()).toBe(true);
    // The idempotent producer asked the broker for a producer id when it connected.
    expect(requests.map((r) => r.apiName)).toContain('InitProducerId');

    const send = vi.spyOn(producer, 'send');
    await log.append([{ partition: 1, key: 'a', value: '1' }]);
    expect(send).toHaveBeenCalledWith(expect.objectContaining({ acks: -1 }));
    expect(PRODUCER_SETTINGS).toEqual({ idempotent: true, maxInFlightRequests: 1, acks: -1 });
    // No warning about limited retries (which would void the idempotence guarantees).
    expect(logger.entries.filter((e) => /EoS/.test(e.msg))).toEqual([]);
  });

  it('after a request that may have landed failed, the next append is stored, not taken for a duplicate of it', async () => {
    const { log } = await open(1);
    const produce = KafkajsBroker.prototype.produce;
    // The broker stores the request, then the answer is lost and kafkajs gives up on it (as when
    // the broker is killed and does not come back within the client's retries).
    vi.spyOn(KafkajsBroker.prototype, 'produce').mockImplementationOnce(async function (this: unknown, ...args: unknown[]) {
      await produce.apply(this, args);
      throw new KafkaJSNonRetriableError('connection lost before the answer');
    });
    await expect(log.append([{ partition: 0, key: 'a', value: 'landed' }])).rejects.toMatchObject({ code: ErrorCode.LogUnavailable });
    expect(await log.append([{ partition: 0, key: 'b', value: 'acknowledged' }])).toEqual([{ partition: 0, offset: 1 }]);
    expect((await log.read(0, 0, 10)).map((record) => record.value)).toEqual(['landed', 'acknowledged']);
    // Later appends of any size keep working.
    expect(
      await log.append([
        { partition: 0, key: 'c', value: '1' },
        { partition: 0, key: 'c', value: '2' },
      ]),
    ).toEqual([
      { partition: 0, offset: 2 },
      { partition: 0, offset: 3 },
    ]);
  });

  it('stores each record in its explicit partition, not where the key would hash to', async () => {
    const { log } = await open(4);
    const key = 'dawn-coral/sensor-17';
    const hashed = partitionFor(key, 4);
    const explicit = (hashed + 1) % 4;
    expect(await log.append([{ partition: explicit, key, value: 'here' }])).toEqual([{ partition: explicit, offset: 0 }]);
    expect((await log.read(explicit, 0, 10)).map((r) => [r.partition, r.key, r.value])).toEqual([[explicit, key, 'here']]);
    expect(await log.read(hashed, 0, 10)).toEqual([]);
    expect(await log.endOffset(hashed)).toBe(0);
  });

  it('stamps records with the time the producer appended them', async () => {
    const { log } = await open(1, { now: () => 1_700_000_000_123 });
    await log.append([{ partition: 0, key: 'a', value: '1' }]);
    const [stored] = await log.read(0, 0, 1);
    expect(stored?.timestamp).toBe(1_700_000_000_123);
  });

  it('refuses a record larger than the limit before sending anything', async () => {
    const { log } = await open(1, { append: { maxRecordBytes: 1000 } });
    await expect(
      log.append([
        { partition: 0, key: 'ok', value: 'x' },
        { partition: 0, key: 'big', value: 'x'.repeat(1001) },
      ]),
    ).rejects.toMatchObject({
      code: ErrorCode.PayloadTooLarge,
    });
    expect(await log.endOffset(0)).toBe(0);
  });

  it('never commits subscription offsets to Kafka: a stable group id starts where it is told', async () => {
    const { log, topic } = await open(1);
    await log.append(Array.from({ length: 5 }, (_, i) => ({ partition: 0, key: `k${i}`, value: `${i}` })));
    const groupId = `${topic}-stable-reader`;

    const first = new Collector<LogRecord>();
    const one = log.subscribe(0, 0, async (records) => first.push(...records), { groupId, maxBatch: 2 });
    await first.untilCount(5, 'all records');
    await within(one.stop(), 'stop()');
    await within(one.done, 'done');

    const second = new Collector<LogRecord>();
    const two = log.subscribe(0, 3, async (records) => second.push(...records), { groupId });
    await second.untilCount(2, 'records from offset 3');
    await within(two.stop(), 'stop()');
    expect(second.items.map((r) => r.offset)).toEqual([3, 4]);

    const [committed] = await (await connectedAdmin()).fetchOffsets({ groupId, topics: [topic] });
    expect(committed?.partitions).toEqual([{ partition: 0, offset: '-1', metadata: null }]);
  });

  it('reads and delivers a backlog larger than one fetch, in order', async () => {
    const { log } = await open(2, { consumer: { maxBytesPerPartition: 64 * 1024 } });
    const value = 'v'.repeat(500);
    const count = 1500; // ~800 KB: a dozen fetches of 64 KiB
    for (let i = 0; i < count; i += 500) {
      await log.append(Array.from({ length: 500 }, (_, k) => ({ partition: 1, key: `k${i + k}`, value })));
    }
    const all = await log.read(1, 0, count + 10);
    expect(all.map((r) => r.offset)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(all.every((r, i) => r.key === `k${i}` && r.value === value)).toBe(true);
    expect((await log.read(1, 1234, 3)).map((r) => r.key)).toEqual(['k1234', 'k1235', 'k1236']);

    const delivered = new Collector<readonly LogRecord[]>();
    const subscription = log.subscribe(1, 100, async (records) => delivered.push(records), { maxBatch: 100 });
    await delivered.until((batches) => batches.flat().length >= count - 100, 'the backlog');
    await within(subscription.stop(), 'stop()');
    expect(delivered.items.flat().map((r) => r.offset)).toEqual(Array.from({ length: count - 100 }, (_, i) => i + 100));
    expect(delivered.items.every((batch) => batch.length <= 100)).toBe(true);
  });

  it('keeps subscriptions gap- and duplicate-free through rebalances (a second member joining and leaving its group)', async () => {
    const { log, topic } = await open(1);
    const append = (from: number, count: number) =>
      log.append(Array.from({ length: count }, (_, i) => ({ partition: 0, key: `k${from + i}`, value: `${from + i}` })));
    await append(0, 5);
    const groupId = `${topic}-shared`;
    const first = new Collector<LogRecord>();
    const second = new Collector<LogRecord>();
    const a = log.subscribe(0, 0, async (records) => first.push(...records), { groupId });
    await first.untilCount(5, 'the first records');
    // Misuse on purpose: a second live subscription in the same group forces a rebalance, and
    // the assigner gives the partition to one of the two. Whichever it is, neither may skip or
    // repeat a record; once the second leaves, the first owns the partition again and must go
    // on from its own position (not from where kafkajs would start a group without offsets).
    const b = log.subscribe(0, 2, async (records) => second.push(...records), { groupId });
    await append(5, 5);
    await within(
      Promise.race([first.until((items) => items.length >= 10, 'A', 20_000), second.untilCount(1, 'B', 20_000)]),
      'a delivery after the join',
      20_000,
    );
    await within(b.stop(), 'stop b');
    await append(10, 3);
    await first.until((items) => items.at(-1)?.offset === 12, 'offset 12 on the remaining member', 20_000);
    await within(a.stop(), 'stop a');
    expect(first.items.map((r) => r.offset)).toEqual(Array.from({ length: 13 }, (_, i) => i));
    expect(second.items.map((r) => r.offset)).toEqual(Array.from({ length: second.items.length }, (_, i) => 2 + i));
  }, 60_000);

  it('close() stops subscriptions and refuses further work', async () => {
    const { log } = await open(1);
    const subscription = log.subscribe(0, 0, async () => undefined);
    await log.append([{ partition: 0, key: 'a', value: '1' }]);
    await within(log.close(), 'close()');
    await within(subscription.done, 'done after close()');
    await expect(log.append([{ partition: 0, key: 'b', value: '2' }])).rejects.toMatchObject({ code: ErrorCode.LogUnavailable });
    await expect(log.endOffset(0)).rejects.toMatchObject({ code: ErrorCode.LogUnavailable });
    await log.close();
  });
});
