import { AsyncLocalStorage } from 'node:async_hooks';

/** Whether anything read in one scope (one HTTP request) came from a possibly stale source. */
export interface StaleReadTracker {
  stale: boolean;
}

const scope = new AsyncLocalStorage<StaleReadTracker>();

/**
 * Runs `fn`, and everything it starts asynchronously, with `tracker` as the scope that
 * `markReadStale` marks. A reader deep under a route can so flag its answer without every port
 * and route passing a flag along.
 */
export function trackStaleReads<T>(tracker: StaleReadTracker, fn: () => T): T {
  return scope.run(tracker, fn);
}

/** Marks the current scope's answer as possibly stale (no-op outside a tracked scope). */
export function markReadStale(): void {
  const tracker = scope.getStore();
  if (tracker !== undefined) tracker.stale = true;
}
