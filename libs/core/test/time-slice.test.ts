import { expect, it } from 'vitest';
import { TimeSlice } from '../src/index.js';

const busy = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Synchronous work, as validating or merging one batch element is.
  }
};

it('lets a timer due during a long loop run between slices, not only after the loop', async () => {
  const slice = new TimeSlice(4);
  let timerRanAtItem: number | undefined;
  let item = 0;
  setTimeout(() => {
    timerRanAtItem = item;
  }, 0);
  for (; item < 40; item++) {
    if (slice.due) await slice.yield();
    busy(1);
  }
  expect(timerRanAtItem).toBeDefined();
  expect(timerRanAtItem!).toBeLessThan(40);
});

it('does not yield while the slice has time left', async () => {
  const slice = new TimeSlice(1_000);
  let timerRan = false;
  setTimeout(() => {
    timerRan = true;
  }, 0);
  for (let item = 0; item < 5; item++) if (slice.due) await slice.yield();
  expect(timerRan).toBe(false);
});

it('shares one budget among the loops of a turn: a timer waits for one budget, not one per loop', async () => {
  const budgetMs = 4;
  let items = 0;
  let itemsBeforeTimer: number | undefined;
  setTimeout(() => {
    itemsBeforeTimer = items;
  }, 0);
  const loop = async (): Promise<void> => {
    const slice = new TimeSlice(budgetMs);
    for (let item = 0; item < 20; item++) {
      if (slice.due) await slice.yield();
      busy(1);
      items++;
    }
  };
  // Eight loops started in one turn, as eight batch requests whose bodies arrived together.
  await Promise.all(Array.from({ length: 8 }, loop));
  expect(items).toBe(160);
  // One budget plus the one item each other loop does before it first asks: far below eight budgets (32).
  expect(itemsBeforeTimer).toBeDefined();
  expect(itemsBeforeTimer!).toBeLessThanOrEqual(budgetMs + 1 + 8);
});
