import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/** How long one slice of synchronous work may run before other work gets a turn. */
export const DEFAULT_SLICE_MS = 4;

/**
 * Cuts a long synchronous loop (a batch of a thousand events validated, encoded or merged) into
 * slices of about `budgetMs`: the loop asks `due` once per item and, when it is, awaits
 * `yield()`, which lets one turn of the event loop run (other requests, timers, I/O). Other
 * requests then wait a few ms at a time instead of for the whole batch. Asking costs one clock
 * read; no promise is made until a slice is used up.
 */
export class TimeSlice {
  private sliceStarted = performance.now();

  constructor(private readonly budgetMs = DEFAULT_SLICE_MS) {}

  get due(): boolean {
    return performance.now() - this.sliceStarted >= this.budgetMs;
  }

  async yield(): Promise<void> {
    await yieldToEventLoop();
    this.sliceStarted = performance.now();
  }
}
