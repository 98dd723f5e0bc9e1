/**
 * Wakes log tailers when records were appended to a partition. Tailers read first and take
 * the promise of the next signal in the same synchronous step when they find nothing new, so
 * an append can never slip between their read and their wait (JS runs one step at a time and
 * appenders signal only after their commit is visible).
 */
export class AppendSignal {
  private readonly pending = new Map<number, { promise: Promise<void>; resolve: () => void }>();

  /** Resolves at the next `notify(partition)`. */
  next(partition: number): Promise<void> {
    let entry = this.pending.get(partition);
    if (entry === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((res) => {
        resolve = res;
      });
      entry = { promise, resolve };
      this.pending.set(partition, entry);
    }
    return entry.promise;
  }

  notify(partition: number): void {
    const entry = this.pending.get(partition);
    if (entry === undefined) return;
    this.pending.delete(partition);
    entry.resolve();
  }
}
