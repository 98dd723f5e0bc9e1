import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@flux/domain';
import type { LogRecord } from '@flux/core';
import { Collector, runUntilKilled, within } from '@flux/core/testing';
import { LmdbEventLog } from '../src/index.js';
import { tempDir } from './temp-dir.js';

const append = (log: LmdbEventLog, partition: number, count: number, prefix = 'k') =>
  log.append(Array.from({ length: count }, (_, i) => ({ partition, key: `${prefix}${i}`, value: `${prefix}${i}` })));

describe('LmdbEventLog', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let path: string;
  const opened: LmdbEventLog[] = [];
  const openLog = (partitionCount?: number): LmdbEventLog => {
    const log = LmdbEventLog.open({ path, ...(partitionCount === undefined ? {} : { partitionCount }) });
    opened.push(log);
    return log;
  };

  beforeEach(async () => {
    dir = await tempDir();
    path = join(dir.path, 'log');
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((log) => log.close()));
    await dir.remove();
  });

  describe('truncateBefore', () => {
    it('drops records before an offset of one partition and keeps offsets growing', async () => {
      const log = openLog(2);
      await append(log, 0, 10);
      await append(log, 1, 3);

      expect(await log.truncateBefore(0, 6)).toBe(6);
      expect(await log.startOffset(0)).toBe(6);
      expect((await log.read(0, 6, 100)).map((r) => r.offset)).toEqual([6, 7, 8, 9]);
      await expect(log.read(0, 5, 1)).rejects.toMatchObject({ code: ErrorCode.Internal, message: expect.stringMatching(/truncated/) });
      expect(await log.endOffset(0)).toBe(10);
      expect((await log.read(1, 0, 100)).map((r) => r.key)).toEqual(['k0', 'k1', 'k2']);

      expect(await log.truncateBefore(0, 3)).toBe(0); // already gone
      expect(await log.truncateBefore(0, 1_000)).toBe(4); // clamped to the end offset
      expect(await log.startOffset(0)).toBe(10);
      expect(await log.read(0, 10, 10)).toEqual([]);
      expect(await log.endOffset(0)).toBe(10);
      expect(await append(log, 0, 1, 'next')).toEqual([{ partition: 0, offset: 10 }]);
    });

    it('never reuses offsets of a fully truncated partition, even after a reopen', async () => {
      let log = openLog(1);
      await append(log, 0, 5);
      await log.truncateBefore(0, 5);
      await log.close();
      log = openLog();
      expect(await log.startOffset(0)).toBe(5);
      expect(await log.endOffset(0)).toBe(5);
      expect(await append(log, 0, 2)).toEqual([
        { partition: 0, offset: 5 },
        { partition: 0, offset: 6 },
      ]);
    });

    it('fails a subscription whose next offset was truncated instead of skipping records', async () => {
      const log = openLog(1);
      await append(log, 0, 4);
      await log.truncateBefore(0, 2);
      const subscription = log.subscribe(0, 1, async () => undefined);
      await expect(within(subscription.done, 'done to reject')).rejects.toMatchObject({ message: expect.stringMatching(/truncated/) });

      const tail = new Collector<LogRecord>();
      const fromStart = log.subscribe(0, 2, async (records) => tail.push(...records));
      await tail.untilCount(2, 'the records that remain');
      await fromStart.stop();
      expect(tail.items.map((r) => r.offset)).toEqual([2, 3]);
    });
  });

  describe('partition count', () => {
    it('keeps the count it was created with when reopened with another one', async () => {
      const created = openLog(4);
      expect(created.partitionCount).toBe(4);
      await created.close();
      expect(openLog(8).partitionCount).toBe(4);
      expect(openLog().partitionCount).toBe(4);
    });

    it('refuses to create a log without a valid partition count, leaving nothing open', async () => {
      expect(() => LmdbEventLog.open({ path })).toThrow(RangeError);
      expect(() => LmdbEventLog.open({ path, partitionCount: 0 })).toThrow(RangeError);
      expect(openLog(2).partitionCount).toBe(2);
    });
  });

  describe('lifecycle', () => {
    it('close() ends subscriptions and refuses further use', async () => {
      const log = openLog(1);
      const subscription = log.subscribe(0, 0, async () => undefined);
      await within(log.close(), 'close()');
      await within(subscription.done, 'the subscription to end');
      await expect(log.append([{ partition: 0, key: 'k', value: 'v' }])).rejects.toMatchObject({ code: ErrorCode.LogUnavailable });
      await log.close(); // idempotent
    });

    it('lets other work run between the batches it delivers', async () => {
      const log = openLog(1);
      await append(log, 0, 3);
      const seen: string[] = [];
      let delivered!: () => void;
      const allDelivered = new Promise<void>((resolve) => (delivered = resolve));
      const subscription = log.subscribe(
        0,
        0,
        async (records) => {
          seen.push(`batch ${records[0]!.offset}`);
          // Queued while the first batch is applied: it must run before the second batch, as a
          // request or a timer would, rather than after every batch the log already holds.
          if (records[0]!.offset === 0) setImmediate(() => seen.push('other work'));
          if (records[0]!.offset === 2) delivered();
        },
        { maxBatch: 1 },
      );
      await within(allDelivered, 'three batches');
      await subscription.stop();
      expect(seen).toEqual(['batch 0', 'other work', 'batch 1', 'batch 2']);
    });

    it('wakes its subscriptions for appends another handle made once told, and reads them from a fresh snapshot', async () => {
      // Two handles on one log, as the server thread and the materialiser thread have.
      const writer = openLog(1);
      const reader = openLog(1);
      const announced: number[] = [];
      writer.onAppend((partitions) => announced.push(...partitions));
      const collected: number[] = [];
      const subscription = reader.subscribe(0, 0, async (records) => {
        for (const record of records) collected.push(record.offset);
      });
      // Reads that keep the reader's snapshot in use, as the reducers' reads do.
      let reading = true;
      const keepReading = (): void => {
        reader.endOffset(0).catch(() => undefined);
        if (reading) setImmediate(keepReading);
      };
      keepReading();
      for (let n = 0; n < 30; n++) {
        await append(writer, 0, 1, `r${n}-`);
        reader.appendedElsewhere(announced.splice(0));
        await expect.poll(() => collected.length, { timeout: 2_000 }).toBe(n + 1);
      }
      reading = false;
      await subscription.stop();
      expect(collected).toEqual(Array.from({ length: 30 }, (_, offset) => offset));
    });

    it('stores the log in its own LMDB environment', async () => {
      const log = LmdbEventLog.openIn(dir.path, { partitionCount: 1 });
      opened.push(log);
      await append(log, 0, 1);
      expect(existsSync(join(dir.path, 'log', 'data.mdb'))).toBe(true);
    });

    it('stamps records with the injected clock', async () => {
      const log = LmdbEventLog.open({ path, partitionCount: 1, now: () => 1_234 });
      opened.push(log);
      await append(log, 0, 1);
      expect((await log.read(0, 0, 1))[0]?.timestamp).toBe(1_234);
    });
  });

  describe('storage', () => {
    it('reads and truncates within the chunk one append wrote, and across chunks', async () => {
      const log = openLog(1);
      await append(log, 0, 5, 'a'); // offsets 0..4, one chunk
      await append(log, 0, 3, 'b'); // offsets 5..7
      expect((await log.read(0, 3, 4)).map((r) => `${r.offset}:${r.key}`)).toEqual(['3:a3', '4:a4', '5:b0', '6:b1']);
      expect((await log.read(0, 6, 100)).map((r) => r.key)).toEqual(['b1', 'b2']);

      expect(await log.truncateBefore(0, 2)).toBe(2);
      expect((await log.read(0, 2, 100)).map((r) => r.offset)).toEqual([2, 3, 4, 5, 6, 7]);
      await expect(log.read(0, 1, 1)).rejects.toMatchObject({ code: ErrorCode.Internal });
      expect(await log.truncateBefore(0, 6)).toBe(4);
      expect((await log.read(0, 6, 100)).map((r) => r.key)).toEqual(['b1', 'b2']);
    });
  });

  describe('durability', () => {
    it('keeps every acknowledged append when the process is killed mid-flight', async () => {
      const script = fileURLToPath(new URL('./fixtures/append-until-killed.ts', import.meta.url));
      const {
        signal,
        stderr,
        reported: acked,
      } = await runUntilKilled<{ key: string; partition: number; offset: number }>(script, [path, '3', '300'], 'the child to kill itself');
      expect(signal, stderr).toBe('SIGKILL');

      expect(acked.length).toBeGreaterThanOrEqual(300);

      const log = openLog();
      for (const { key, partition, offset } of acked) {
        const [stored] = await log.read(partition, offset, 1);
        expect(stored?.key).toBe(key);
      }
      // Offsets stayed gap-free: every partition holds exactly 0..end-1.
      for (let partition = 0; partition < log.partitionCount; partition++) {
        const end = await log.endOffset(partition);
        const records = await log.read(partition, 0, end + 1);
        expect(records.map((r) => r.offset)).toEqual(Array.from({ length: end }, (_, i) => i));
      }
    });
  });
});
