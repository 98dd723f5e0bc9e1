import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/** How long the slices of one turn of the event loop may run together before other work gets a turn. */
export const DEFAULT_SLICE_MS = 4;

/**
 * When this turn's budget started: at the first `due` asked in the turn. It is shared by every
 * slice of the thread, because what other work waits for is the whole turn: eight batch
 * requests whose bodies arrived together each ran a slice of their own in the same turn, and a
 * timer then waited for all eight.
 */
let turnStarted = 0;
/** Set while a budget runs; an immediate callback (after the turn's I/O callbacks) ends it. */
let turnOpen = false;

const endTurn = (): void => {
  turnOpen = false;
};

function turnElapsedMs(): number {
  const now = performance.now();
  if (!turnOpen) {
    turnOpen = true;
    turnStarted = now;
    setImmediate(endTurn);
  }
  return now - turnStarted;
}

/**
 * Cuts a long synchronous loop (a batch of a thousand events validated, encoded or merged) into
 * slices: the loop asks `due` once per item and, when it is, awaits `yield()`, which lets one
 * turn of the event loop run (other requests, timers, I/O). The budget is the turn's, not the
 * loop's: all the loops running in one turn share `budgetMs`, so other requests wait a few ms
 * at a time however many batches are in flight. A loop does at least one item per turn, so
 * each makes progress. Asking costs one clock read; no promise is made until a turn is used up.
 */
export class TimeSlice {
  constructor(private readonly budgetMs = DEFAULT_SLICE_MS) {}

  get due(): boolean {
    return turnElapsedMs() >= this.budgetMs;
  }

  async yield(): Promise<void> {
    await yieldToEventLoop();
  }
}
