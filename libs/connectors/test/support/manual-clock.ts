import type { Clock } from '@flux/connectors';

/** A clock that only moves when told to; sleeps resolve when `advance`/`set` passes their deadline. */
export class ManualClock implements Clock {
  private current: number;
  private readonly sleepers: { at: number; resolve: () => void }[] = [];
  /** Every sleep requested, in ms. */
  readonly requestedSleeps: number[] = [];

  constructor(start = Date.now()) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.requestedSleeps.push(ms);
    return new Promise((resolve) => {
      if (signal?.aborted === true) return resolve();
      const sleeper = { at: this.current + ms, resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          const index = this.sleepers.indexOf(sleeper);
          if (index >= 0) this.sleepers.splice(index, 1);
          resolve();
        },
        { once: true },
      );
    });
  }

  set(ms: number): void {
    this.current = ms;
    for (const sleeper of [...this.sleepers]) {
      if (sleeper.at <= ms) {
        this.sleepers.splice(this.sleepers.indexOf(sleeper), 1);
        sleeper.resolve();
      }
    }
  }

  advance(ms: number): void {
    this.set(this.current + ms);
  }
}
