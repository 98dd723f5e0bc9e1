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
