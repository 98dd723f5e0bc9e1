import { describe, expect, it } from 'vitest';
import { ErrorCode, FluxError, type LogPosition } from '@flux/domain';
import type { AppendRecord } from '@flux/core';
import { deferred, type Deferred } from '@flux/core/testing';
import {
  AppendBatcher,
  DEFAULT_APPEND_LIMITS,
  appendFailure,
  type AppendBatcherLimits,
  type ProduceMessage,
  type SendStats,
} from '../src/append-batcher.js';

/** An in-memory stand-in for the producer: per-partition end offsets, optionally gated. */
class FakeLog {
  readonly requests: ProduceMessage[][] = [];
  readonly stored = new Map<number, string[]>();
  gate: Deferred<void> | undefined;
  failNext: Error | undefined;

  produce = async (messages: readonly ProduceMessage[]): Promise<ReadonlyMap<number, number>> => {
    this.requests.push([...messages]);
    const gate = this.gate;
    if (gate !== undefined) await gate.promise;
    if (this.failNext !== undefined) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    const bases = new Map<number, number>();
    for (const m of messages) {
      const partition = this.stored.get(m.partition) ?? [];
      this.stored.set(m.partition, partition);
      if (!bases.has(m.partition)) bases.set(m.partition, partition.length);
      partition.push(m.key.toString());
    }
    return bases;
  };
}

const rec = (partition: number, key: string, value = 'v'): AppendRecord => ({ partition, key, value });

function batcher(log: FakeLog, limits: Partial<AppendBatcherLimits> = {}, stats: SendStats[] = []): AppendBatcher {
  return new AppendBatcher(log.produce, { ...DEFAULT_APPEND_LIMITS, ...limits }, appendFailure('t'), (s) => stats.push(s));
}

describe('AppendBatcher', () => {
  it('coalesces the calls of one event-loop turn into one produce request, each caller getting its own positions', async () => {
    const log = new FakeLog();
    const stats: SendStats[] = [];
    const b = batcher(log, {}, stats);
    const calls = Array.from({ length: 50 }, (_, c) => b.append([rec(c % 2, `c${c}-a`), rec(1, `c${c}-b`)], 1000 + c));
    const results = await Promise.all(calls);
    expect(log.requests).toHaveLength(1);
    expect(stats).toEqual([expect.objectContaining({ records: 100, calls: 50 })]);
    results.forEach((positions, c) => {
      expect(positions.map((p) => p.partition)).toEqual([c % 2, 1]);
      positions.forEach((p, i) => expect(log.stored.get(p.partition)![p.offset]).toBe(`c${c}-${i === 0 ? 'a' : 'b'}`));
    });
    // Each call kept its own timestamp.
    expect(log.requests[0]![0]!.timestamp).toBe('1000');
    expect(log.requests[0]!.at(-1)!.timestamp).toBe('1049');
  });

  it('sends the calls that arrive while a request is in flight together in the next one', async () => {
    const log = new FakeLog();
    const b = batcher(log);
    log.gate = deferred();
    const first = b.append([rec(0, 'first')], 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.requests).toHaveLength(1);
    const later = Array.from({ length: 20 }, (_, i) => b.append([rec(0, `later${i}`)], 2));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(log.requests).toHaveLength(1);
    const gate = log.gate;
    log.gate = undefined;
    gate.resolve();
    expect(await first).toEqual([{ partition: 0, offset: 0 }]);
    const positions = await Promise.all(later);
    expect(log.requests).toHaveLength(2);
    expect(positions.map(([p]) => p!.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('splits by record count and partition bytes, keeping the order of every partition', async () => {
    const log = new FakeLog();
    const b = batcher(log, { maxBatchRecords: 3, maxPartitionBytes: 2 * (1 + 10 + 32) });
    const records = Array.from({ length: 10 }, (_, i) => rec(i % 2, `${i}`, 'x'.repeat(10)));
    const positions = await b.append(records, 1);
    expect(log.requests.length).toBeGreaterThanOrEqual(4);
    for (const request of log.requests) {
      expect(request.length).toBeLessThanOrEqual(3);
      for (const partition of [0, 1]) expect(request.filter((m) => m.partition === partition).length).toBeLessThanOrEqual(2);
    }
    expect(positions).toEqual(records.map((r, i) => ({ partition: r.partition, offset: Math.floor(i / 2) })));
    expect(log.stored.get(0)).toEqual(['0', '2', '4', '6', '8']);
  });

  it('a failed request rejects only the calls that had records in it', async () => {
    const log = new FakeLog();
    const b = batcher(log, { maxBatchRecords: 2 });
    log.failNext = new Error('broker said no');
    const [a, c, d] = [b.append([rec(0, 'a')], 1), b.append([rec(0, 'b')], 1), b.append([rec(0, 'c')], 1)];
    const failure = await a.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(FluxError);
    expect((failure as FluxError).code).toBe(ErrorCode.LogUnavailable);
    expect((failure as FluxError).message).toMatch(/topic t: broker said no/);
    await expect(c).rejects.toBe(failure);
    expect(await d).toEqual([{ partition: 0, offset: 0 }]);
    expect(b.pendingRecords).toBe(0);
  });

  it('refuses work beyond its pending limit and records beyond the size limit, before sending anything', async () => {
    const log = new FakeLog();
    const b = batcher(log, { maxPendingRecords: 3, maxRecordBytes: 5 });
    log.gate = deferred();
    const accepted = b.append([rec(0, 'a'), rec(0, 'b')], 1);
    await expect(b.append([rec(0, 'c'), rec(0, 'd')], 1)).rejects.toMatchObject({ code: ErrorCode.LogUnavailable, retryAfterSeconds: 1 });
    await expect(b.append([rec(0, 'k', 'too-long')], 1)).rejects.toMatchObject({ code: ErrorCode.PayloadTooLarge });
    log.gate.resolve();
    expect(await accepted).toHaveLength(2);
    expect(log.requests.flat()).toHaveLength(2);
  });

  it('answers a caller whose records are not acknowledged in time, and drops its records if none were sent', async () => {
    const log = new FakeLog();
    const b = batcher(log, { appendTimeoutMs: 30, maxBatchRecords: 1 });
    log.gate = deferred();
    const inFlight = b.append([rec(0, 'sent')], 1);
    const queued = b.append([rec(0, 'queued')], 1);
    await expect(inFlight).rejects.toThrow(/within 30 ms \(its records may or may not have been stored\)/);
    await expect(queued).rejects.toThrow(/within 30 ms \(nothing was sent\)/);
    log.gate.resolve();
    await b.drained();
    expect(log.requests.flat().map((m) => m.key.toString())).toEqual(['sent']);
    expect(b.pendingRecords).toBe(0);
  });

  it('resolves an empty call at once and drained() once the queue is empty', async () => {
    const log = new FakeLog();
    const b = batcher(log);
    expect(await b.append([], 1)).toEqual([]);
    await b.drained();
    const positions: Promise<readonly LogPosition[]>[] = [b.append([rec(2, 'x')], 1)];
    await b.drained();
    expect(await positions[0]).toEqual([{ partition: 2, offset: 0 }]);
  });
});
