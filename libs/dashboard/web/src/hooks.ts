import { useEffect, useRef, useState } from 'preact/hooks';
import { liveFeed, type FeedEvent } from './live-feed';

/** Re-renders on every change of the feed's connection state or metrics. */
export function useLiveFeedState(): typeof liveFeed {
  const [, setVersion] = useState(0);
  useEffect(() => liveFeed.watch(() => setVersion((version) => version + 1)), []);
  return liveFeed;
}

/** Calls the latest `listener` with every feed event while the component is mounted. */
export function useFeed(listener: (event: FeedEvent) => void): void {
  const current = useRef(listener);
  current.current = listener;
  useEffect(() => liveFeed.listen((event) => current.current(event)), []);
}

/**
 * Coalesces calls: `request()` runs `task` once `delayMs` after the first request of a burst,
 * so a busy entity refreshes a few times a second, not once per event.
 */
export function useCoalesced(task: () => void, delayMs: number): () => void {
  const current = useRef(task);
  current.current = task;
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  return useRef(() => {
    if (timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      current.current();
    }, delayMs);
  }).current;
}
