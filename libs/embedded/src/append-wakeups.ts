/**
 * How the thread that appends to the embedded log tells the thread that tails it (the
 * materialiser) about new records, through memory both threads share, so that a message has to
 * travel only when the tailer of a partition is waiting. At thousands of single events a second
 * most appends commit in a turn of their own, and a message per commit cost the appending
 * thread about a fifth of its time (`postMessage`), while the tailer, busy applying, did not
 * need waking.
 *
 * Per partition there is a count of appends and a flag the tailer raises before it waits. The
 * appender counts first, then takes the flag down if it was up: then, and only then, it must
 * wake the tailer. The tailer raises the flag first, then compares the count with the one its
 * last read started from. With sequentially consistent atomics one of the two sees the other's
 * write, so an append is never left unseen: either the tailer finds the count moved and reads
 * again at once, or the appender finds the flag up and sends the wake-up. Should both happen,
 * only one of them takes the flag down: the other wake-up is a read that finds nothing.
 */
export class AppendWakeups {
  private readonly appended: Int32Array;
  private readonly waiting: Int32Array;
  /** Tailer side: the count each partition's last read started from. */
  private readonly readFrom: Int32Array;

  /** Memory for `partitionCount` partitions, to hand to both threads. */
  static allocate(partitionCount: number): SharedArrayBuffer {
    return new SharedArrayBuffer(2 * partitionCount * Int32Array.BYTES_PER_ELEMENT);
  }

  constructor(shared: SharedArrayBuffer, partitionCount: number) {
    if (shared.byteLength !== 2 * partitionCount * Int32Array.BYTES_PER_ELEMENT) {
      throw new RangeError(`shared memory of ${shared.byteLength} bytes is not that of ${partitionCount} partitions`);
    }
    this.appended = new Int32Array(shared, 0, partitionCount);
    this.waiting = new Int32Array(shared, partitionCount * Int32Array.BYTES_PER_ELEMENT, partitionCount);
    this.readFrom = new Int32Array(partitionCount);
  }

  /**
   * Appender side, once the records are durable and readable: counts the appends and returns
   * the partitions whose tailer waits and must be sent a wake-up.
   */
  appendedTo(partitions: readonly number[]): number[] {
    const wake: number[] = [];
    for (const partition of partitions) {
      Atomics.add(this.appended, partition, 1);
      if (Atomics.compareExchange(this.waiting, partition, 1, 0) === 1) wake.push(partition);
    }
    return wake;
  }

  /**
   * Tailer side, before reading a partition: whether appends were counted since its last read
   * started, so the thread's read snapshot must be renewed to see them.
   */
  beforeRead(partition: number): boolean {
    const count = Atomics.load(this.appended, partition);
    if (count === this.readFrom[partition]) return false;
    this.readFrom[partition] = count;
    return true;
  }

  /**
   * Tailer side, after a read found nothing: raises the flag, and returns true when records
   * were appended since that read started and the flag could be taken back down (read again
   * now). False: wait for the wake-up, which the appender sends once it finds the flag up.
   */
  waitOrReadAgain(partition: number): boolean {
    Atomics.store(this.waiting, partition, 1);
    if (Atomics.load(this.appended, partition) === this.readFrom[partition]) return false;
    // Appended meanwhile. If the appender took the flag down first, its wake-up is on its way.
    return Atomics.compareExchange(this.waiting, partition, 1, 0) === 1;
  }
}
