import { describe, expect, it } from 'vitest';
import type { LogPosition } from '@flux/domain';
import type { AppendRecord, EventLog, LogRecord } from '../ports/event-log.js';
import { Collector, deferred, quietPeriod, within, type Deferred } from './async.js';
import { useContractFixture, type ContractFixture } from './fixture.js';

export interface EventLogFixtureOptions {
  /** Partitions of the log the fixture creates. */
  readonly partitionCount: number;
}

export type EventLogFactory = (options: EventLogFixtureOptions) => Promise<ContractFixture<EventLog>>;

const PARTITIONS = 3;
/** Broker clocks (Kafka's LogAppendTime) may differ a little from the test's clock. */
const CLOCK_SLACK_MS = 5_000;

const record = (partition: number, key: string, value: string = JSON.stringify({ key })): AppendRecord => ({
  partition,
  key,
  value,
});

const offsets = (records: readonly LogRecord[]): number[] => records.map((r) => r.offset);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** Appends `count` records to a partition with keys `${prefix}${i}`. */
async function fill(log: EventLog, partition: number, count: number, prefix = 'k'): Promise<readonly LogPosition[]> {
  return log.append(range(0, count).map((i) => record(partition, `${prefix}${i}`)));
}

/**
 * The behaviour every EventLog adapter (embedded LMDB, Kafka) must show. `factory` creates a
 * fixture whose log has `partitionCount` partitions and starts empty.
 */
export function describeEventLogContract(name: string, factory: EventLogFactory): void {
  describe(`EventLog contract: ${name}`, () => {
    const fixture = useContractFixture(
      () => factory({ partitionCount: PARTITIONS }),
      (log) => log.close(),
    );

    describe('append, read and endOffset', () => {
      it('reports its partition count and starts every partition empty', async () => {
        const log = await fixture.open();
        expect(log.partitionCount).toBe(PARTITIONS);
        for (const partition of range(0, PARTITIONS)) {
          expect(await log.endOffset(partition)).toBe(0);
          expect(await log.read(partition, 0, 10)).toEqual([]);
        }
      });

      it('resolves positions in input order with consecutive offsets per partition', async () => {
        const log = await fixture.open();
        const first = await log.append([record(0, 'a'), record(1, 'b'), record(0, 'c'), record(2, 'd'), record(0, 'e')]);
        expect(first).toEqual([
          { partition: 0, offset: 0 },
          { partition: 1, offset: 0 },
          { partition: 0, offset: 1 },
          { partition: 2, offset: 0 },
          { partition: 0, offset: 2 },
        ]);
        const second = await log.append([record(1, 'f'), record(0, 'g')]);
        expect(second).toEqual([
          { partition: 1, offset: 1 },
          { partition: 0, offset: 3 },
        ]);
        expect(await log.append([])).toEqual([]);
        expect(await log.endOffset(0)).toBe(4);
        expect(await log.endOffset(1)).toBe(2);
        expect(await log.endOffset(2)).toBe(1);
        expect((await log.read(0, 0, 10)).map((r) => r.key)).toEqual(['a', 'c', 'e', 'g']);
      });

      it('keeps partitions gap-free and each call in input order under concurrent appends', async () => {
        const log = await fixture.open();
        const calls = range(0, 40).map((c) =>
          log.append([record(c % PARTITIONS, `c${c}-0`), record((c + 1) % PARTITIONS, `c${c}-1`), record(c % PARTITIONS, `c${c}-2`)]),
        );
        const results = await Promise.all(calls);

        const byPartition = new Map<number, number[]>();
        results.forEach((positions, c) => {
          expect(positions.map((p) => p.partition)).toEqual([c % PARTITIONS, (c + 1) % PARTITIONS, c % PARTITIONS]);
          // Records of one partition keep their input order within a call.
          expect(positions[2]!.offset).toBeGreaterThan(positions[0]!.offset);
          for (const p of positions) byPartition.set(p.partition, [...(byPartition.get(p.partition) ?? []), p.offset]);
        });
        for (const [partition, assigned] of byPartition) {
          expect([...assigned].sort((a, b) => a - b)).toEqual(range(0, assigned.length));
          expect(await log.endOffset(partition)).toBe(assigned.length);
        }
        // Every position resolved really holds the record that was appended there.
        for (const [c, positions] of results.entries()) {
          for (const [i, position] of positions.entries()) {
            const [stored] = await log.read(position.partition, position.offset, 1);
            expect(stored?.key).toBe(`c${c}-${i}`);
          }
        }
      });

      it('reads up to maxRecords records from an offset', async () => {
        const log = await fixture.open();
        const before = Date.now();
        await fill(log, 1, 5);
        const after = Date.now();

        const middle = await log.read(1, 2, 2);
        expect(offsets(middle)).toEqual([2, 3]);
        expect(middle.map((r) => r.key)).toEqual(['k2', 'k3']);
        expect(middle[0]).toMatchObject({ partition: 1, offset: 2, key: 'k2', value: JSON.stringify({ key: 'k2' }) });
        expect(offsets(await log.read(1, 3, 100))).toEqual([3, 4]);
        expect(await log.read(1, 5, 10)).toEqual([]);
        expect(await log.read(1, 50, 10)).toEqual([]);
        expect(await log.read(0, 0, 10)).toEqual([]);

        for (const stored of await log.read(1, 0, 10)) {
          expect(stored.partition).toBe(1);
          expect(Number.isInteger(stored.timestamp)).toBe(true);
          expect(stored.timestamp).toBeGreaterThanOrEqual(before - CLOCK_SLACK_MS);
          expect(stored.timestamp).toBeLessThanOrEqual(after + CLOCK_SLACK_MS);
        }
      });

      it('stores keys and values exactly, whatever characters they hold', async () => {
        const log = await fixture.open();
        const samples: AppendRecord[] = [
          record(2, 'dawn-coral/sensor-01', '{"__proto__":{"polluted":true},"constructor":1}'),
          record(2, 'ns/日本語/ключ/😀', JSON.stringify({ text: 'zero\u0000width\u200b, quote " backslash \\' })),
          record(2, 'empty-value', ''),
          record(2, 'large', 'x'.repeat(200_000)),
        ];
        await log.append(samples);
        const stored = await log.read(2, 0, 10);
        expect(stored.map(({ key, value }) => ({ key, value }))).toEqual(samples.map(({ key, value }) => ({ key, value })));
      });

      it('rejects records for partitions that do not exist and appends none of the call', async () => {
        const log = await fixture.open();
        for (const partition of [PARTITIONS, -1, 1.5]) {
          await expect(log.append([record(0, 'ok'), record(partition, 'bad')])).rejects.toThrow();
        }
        expect(await log.endOffset(0)).toBe(0);
      });
    });

    describe('subscribe', () => {
      it('delivers existing and later records of its partition in order, in batches of at most maxBatch', async () => {
        const log = await fixture.open();
        await fill(log, 0, 5);
        await fill(log, 1, 3, 'other');
        const batches = new Collector<readonly LogRecord[]>();
        const subscription = log.subscribe(0, 0, async (records) => batches.push(records), { maxBatch: 2 });
        const delivered = (): LogRecord[] => batches.items.flat();

        await batches.until((items) => items.flat().length >= 5, 'the existing records');
        await fill(log, 0, 4, 'later');
        await batches.until((items) => items.flat().length >= 9, 'the later records');

        expect(offsets(delivered())).toEqual(range(0, 9));
        expect(delivered().map((r) => r.key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'later0', 'later1', 'later2', 'later3']);
        for (const batch of batches.items) {
          expect(batch.length).toBeGreaterThan(0);
          expect(batch.length).toBeLessThanOrEqual(2);
          expect(batch.every((r) => r.partition === 0)).toBe(true);
          expect(offsets(batch)).toEqual(range(batch[0]!.offset, batch[0]!.offset + batch.length));
        }
        await within(subscription.stop(), 'stop()');
        await within(subscription.done, 'done after stop()');
      });

      it('starts at the given offset and waits at the end for new records', async () => {
        const log = await fixture.open();
        await fill(log, 2, 6);
        const fromMiddle = new Collector<LogRecord>();
        const atEnd = new Collector<LogRecord>();
        const middle = log.subscribe(2, 4, async (records) => fromMiddle.push(...records));
        const end = log.subscribe(2, 6, async (records) => atEnd.push(...records));

        await fromMiddle.untilCount(2, 'records from offset 4');
        await fill(log, 2, 2, 'new');
        await fromMiddle.untilCount(4, 'records from offset 4 and the new ones');
        await atEnd.untilCount(2, 'the new records at the end');

        expect(offsets(fromMiddle.items)).toEqual([4, 5, 6, 7]);
        expect(offsets(atEnd.items)).toEqual([6, 7]);
        expect(atEnd.items.map((r) => r.key)).toEqual(['new0', 'new1']);
        await Promise.all([middle.stop(), end.stop()]);
      });

      it('keeps subscriptions of different partitions apart', async () => {
        const log = await fixture.open();
        const zero = new Collector<LogRecord>();
        const two = new Collector<LogRecord>();
        const subscriptions = [
          log.subscribe(0, 0, async (records) => zero.push(...records)),
          log.subscribe(2, 0, async (records) => two.push(...records)),
        ];
        await log.append([record(0, 'a'), record(2, 'b'), record(1, 'c'), record(0, 'd'), record(2, 'e')]);
        await zero.untilCount(2, 'partition 0 records');
        await two.untilCount(2, 'partition 2 records');
        await Promise.all(subscriptions.map((s) => s.stop()));
        expect(zero.items.map((r) => [r.partition, r.key])).toEqual([
          [0, 'a'],
          [0, 'd'],
        ]);
        expect(two.items.map((r) => [r.partition, r.key])).toEqual([
          [2, 'b'],
          [2, 'e'],
        ]);
      });

      it('does not deliver the next batch before the handler has resolved', async () => {
        const log = await fixture.open();
        await fill(log, 0, 4);
        const gates: Deferred<void>[] = [];
        const calls = new Collector<readonly LogRecord[]>();
        let inFlight = 0;
        let maxInFlight = 0;
        const subscription = log.subscribe(
          0,
          0,
          async (records) => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            const gate = deferred();
            gates.push(gate);
            calls.push(records);
            await gate.promise;
            inFlight--;
          },
          { maxBatch: 2 },
        );

        await calls.untilCount(1, 'the first batch');
        await fill(log, 0, 2, 'more');
        await quietPeriod();
        expect(calls.items).toHaveLength(1);

        // Release batches one at a time until all six records were delivered.
        while (calls.items.flat().length < 6) {
          const seen = calls.items.length;
          gates[seen - 1]!.resolve();
          await calls.untilCount(seen + 1, `batch ${seen + 1}`);
        }
        gates.at(-1)!.resolve();
        await within(subscription.stop(), 'stop()');
        expect(maxInFlight).toBe(1);
        expect(offsets(calls.items.flat())).toEqual(range(0, 6));
      });

      it('stop() waits for the batch in flight and ends delivery', async () => {
        const log = await fixture.open();
        await fill(log, 1, 3);
        const gate = deferred();
        const calls = new Collector<readonly LogRecord[]>();
        let handled = 0;
        const subscription = log.subscribe(
          1,
          0,
          async (records) => {
            calls.push(records);
            await gate.promise;
            handled++;
          },
          { maxBatch: 1 },
        );
        await calls.untilCount(1, 'the first batch');

        let stopped = false;
        const stopping = subscription.stop().then(() => {
          stopped = true;
        });
        await quietPeriod();
        expect(stopped).toBe(false);
        gate.resolve();
        await within(stopping, 'stop() after the handler resolved');
        expect(handled).toBe(1);
        await within(subscription.done, 'done after stop()');

        await fill(log, 1, 2, 'after-stop');
        await quietPeriod();
        expect(calls.items).toHaveLength(1);
      });

      it('ends done with the handler error and delivers nothing more', async () => {
        const log = await fixture.open();
        await fill(log, 0, 3);
        const failure = new Error('handler failed');
        const calls = new Collector<readonly LogRecord[]>();
        const subscription = log.subscribe(
          0,
          0,
          async (records) => {
            calls.push(records);
            throw failure;
          },
          { maxBatch: 1 },
        );
        await expect(within(subscription.done, 'done to reject')).rejects.toBe(failure);
        await fill(log, 0, 1, 'after-failure');
        await quietPeriod();
        expect(calls.items).toHaveLength(1);
        await within(subscription.stop(), 'stop() after a failure');
      });
    });

    describe('persistence', () => {
      it('keeps records, offsets and the partition count across a reopen', async () => {
        let log = await fixture.open();
        await log.append([record(0, 'a'), record(1, 'b'), record(0, 'c')]);
        const before = await log.read(0, 0, 10);

        log = await fixture.reopen(log);
        expect(log.partitionCount).toBe(PARTITIONS);
        expect(await log.read(0, 0, 10)).toEqual(before);
        expect(await log.endOffset(0)).toBe(2);
        expect(await log.endOffset(1)).toBe(1);
        expect(await log.endOffset(2)).toBe(0);
        expect(await log.append([record(0, 'd'), record(2, 'e')])).toEqual([
          { partition: 0, offset: 2 },
          { partition: 2, offset: 0 },
        ]);

        const replay = new Collector<LogRecord>();
        const subscription = log.subscribe(0, 0, async (records) => replay.push(...records));
        await replay.untilCount(3, 'the reopened partition');
        await subscription.stop();
        expect(replay.items.map((r) => r.key)).toEqual(['a', 'c', 'd']);
      });
    });
  });
}
