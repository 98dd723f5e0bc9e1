/**
 * In-process listeners with error isolation: a throwing listener is reported and the others
 * still get the value. Emission iterates over a snapshot, so listeners may (un)subscribe
 * while being called; a listener added during an emission gets the next value, not this one.
 */
export type ListenerErrorHandler = (error: unknown) => void;

/** Default reporting: a process warning, visible in logs without taking the process down. */
export const warnListenerError: ListenerErrorHandler = (error) => {
  process.emitWarning(error instanceof Error ? error : new Error(String(error)), { code: 'FLUX_LISTENER_ERROR' });
};

export class ListenerSet<T> {
  private readonly listeners = new Set<(value: T) => void>();

  constructor(private readonly onError: ListenerErrorHandler = warnListenerError) {}

  get size(): number {
    return this.listeners.size;
  }

  /** Adds a listener; the returned function removes it (idempotent). */
  add(listener: (value: T) => void): () => void {
    // Wrapped, so the same function subscribed twice is two subscriptions.
    const entry = (value: T): void => listener(value);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  emit(value: T): void {
    for (const listener of [...this.listeners]) {
      // Skip listeners removed by an earlier listener of this same emission.
      if (!this.listeners.has(listener)) continue;
      try {
        listener(value);
      } catch (error) {
        this.onError(error);
      }
    }
  }
}
