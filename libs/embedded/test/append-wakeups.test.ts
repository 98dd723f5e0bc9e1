import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { AppendWakeups } from '../src/append-wakeups.js';

describe('AppendWakeups', () => {
  it('wakes a tailer that waits with the next append only, and not one that is reading', () => {
    const shared = AppendWakeups.allocate(2);
    const appender = new AppendWakeups(shared, 2);
    const tailer = new AppendWakeups(shared, 2);

    expect(tailer.beforeRead(0)).toBe(false); // nothing appended yet: the snapshot is fine
    expect(tailer.waitOrReadAgain(0)).toBe(false); // caught up: it waits
    expect(appender.appendedTo([0, 1])).toEqual([0]); // only partition 0 has a waiting tailer
    expect(appender.appendedTo([0])).toEqual([]); // woken once, until it waits again

    expect(tailer.beforeRead(0)).toBe(true); // renew the snapshot: appends were counted
    expect(appender.appendedTo([0])).toEqual([]); // while it reads: no message
    // It would wait, but records came since its read started: it reads again instead.
    expect(tailer.waitOrReadAgain(0)).toBe(true);
    expect(tailer.beforeRead(0)).toBe(true);
    expect(tailer.waitOrReadAgain(0)).toBe(false);
    expect(appender.appendedTo([0])).toEqual([0]);
  });

  it('an append counted while the tailer decides to wait is taken once: the tailer reads again, and no wake-up is sent', () => {
    const shared = AppendWakeups.allocate(1);
    const tailer = new AppendWakeups(shared, 1);
    const counts = new Int32Array(shared, 0, 1);
    const waiting = new Int32Array(shared, Int32Array.BYTES_PER_ELEMENT, 1);
    tailer.beforeRead(0);
    // The appender's two steps, split around the tailer's decision: it counts...
    Atomics.add(counts, 0, 1);
    expect(tailer.waitOrReadAgain(0)).toBe(true);
    // ...and then finds no tailer waiting: nothing to send.
    expect(Atomics.compareExchange(waiting, 0, 1, 0)).toBe(0);
  });

  it('refuses memory sized for another partition count', () => {
    expect(() => new AppendWakeups(AppendWakeups.allocate(4), 12)).toThrow(RangeError);
  });

  it('never leaves an append unseen when the appender runs on another thread at the same time', async () => {
    const partitions = 4;
    const rounds = 300;
    const shared = AppendWakeups.allocate(partitions);
    const tailer = new AppendWakeups(shared, partitions);
    // The appender: in each round, a burst of appends to random partitions a few microseconds
    // apart, posting the partitions it must wake as the server thread does, then the total so
    // far. Bursts end while the tailers read, which is where a wake-up could be lost.
    const appender = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const { shared, partitions } = workerData;
      const counts = new Int32Array(shared, 0, partitions);
      const waiting = new Int32Array(shared, partitions * 4, partitions);
      let total = 0;
      parentPort.on('message', () => {
        const burst = 1 + Math.floor(Math.random() * 40);
        for (let i = 0; i < burst; i++) {
          const until = process.hrtime.bigint() + BigInt(Math.floor(Math.random() * 20_000));
          while (process.hrtime.bigint() < until);
          const partition = Math.floor(Math.random() * partitions);
          Atomics.add(counts, partition, 1);
          total += 1;
          if (Atomics.compareExchange(waiting, partition, 1, 0) === 1) parentPort.postMessage(partition);
        }
        parentPort.postMessage({ total });
      });
      `,
      { eval: true, workerData: { shared, partitions } },
    );
    const counts = new Int32Array(shared, 0, partitions);
    const seen = new Array<number>(partitions).fill(0);
    const waitingOn = new Set<number>();
    const woken = new Set<number>();
    let burstTotal: number | undefined;
    let wake: (() => void) | undefined;
    appender.on('message', (message: number | { total: number }) => {
      if (typeof message === 'number') woken.add(message);
      else burstTotal = message.total;
      wake?.();
    });
    /** The tailers, one per partition: read what the count announces; when caught up, wait unless records came meanwhile. */
    const tail = (): void => {
      for (let partition = 0; partition < partitions; partition++) {
        if (waitingOn.has(partition) && !woken.delete(partition)) continue;
        waitingOn.delete(partition);
        tailer.beforeRead(partition);
        seen[partition] = Atomics.load(counts, partition);
        if (!tailer.waitOrReadAgain(partition)) waitingOn.add(partition);
      }
    };
    try {
      for (let round = 0; round < rounds; round++) {
        burstTotal = undefined;
        appender.postMessage('burst');
        for (;;) {
          tail();
          const allWaiting = waitingOn.size === partitions && woken.size === 0;
          // Every tailer waits and no wake-up is on its way: each must have seen all appends.
          if (burstTotal !== undefined && allWaiting) {
            expect(
              seen.reduce((sum, count) => sum + count, 0),
              `round ${round}`,
            ).toBe(burstTotal);
            break;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            if (!allWaiting) setImmediate(resolve);
          });
        }
      }
    } finally {
      await appender.terminate();
    }
  });
});
