/** Small helpers for waiting on conditions (never on fixed sleeps) in contract suites. */

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** How long a suite waits for something that should happen promptly before failing. */
export const DEFAULT_WAIT_MS = 5_000;

/**
 * Rejects with a message naming what was awaited when `promise` does not settle in time, so a
 * broken adapter fails the test quickly and clearly instead of hanging until the test timeout.
 */
export async function within<T>(promise: Promise<T>, what: string, ms = DEFAULT_WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits a short, fixed time. Only for asserting that something does NOT happen (a delivery
 * after unsubscribe, a batch before the previous one was handled): absence cannot be awaited.
 */
export const quietPeriod = (ms = 50): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Collects items pushed by callbacks and lets a test await a condition over them. */
export class Collector<T> {
  readonly items: T[] = [];
  private readonly waiters: { predicate: (items: readonly T[]) => boolean; done: () => void }[] = [];

  push = (...items: T[]): void => {
    this.items.push(...items);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      if (waiter.predicate(this.items)) {
        this.waiters.splice(i, 1);
        waiter.done();
      }
    }
  };

  /** Resolves once `predicate` holds for the collected items. */
  until(predicate: (items: readonly T[]) => boolean, what: string, ms = DEFAULT_WAIT_MS): Promise<void> {
    if (predicate(this.items)) return Promise.resolve();
    const waiting = deferred();
    const waiter = { predicate, done: () => waiting.resolve() };
    this.waiters.push(waiter);
    return within(waiting.promise, what, ms).finally(() => {
      const index = this.waiters.indexOf(waiter);
      if (index >= 0) this.waiters.splice(index, 1);
    });
  }

  /** Resolves once at least `count` items were collected. */
  untilCount(count: number, what = `${count} items`, ms = DEFAULT_WAIT_MS): Promise<void> {
    return this.until((items) => items.length >= count, `${what} (have ${this.items.length})`, ms);
  }
}

/** Polls `condition` until it holds (truthy), failing with `what` after `timeoutMs`. */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: { readonly timeoutMs?: number; readonly intervalMs?: number; readonly what: string },
): Promise<Exclude<T, undefined | null | false>> {
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_WAIT_MS);
  for (;;) {
    const value = await condition();
    if (value) return value as Exclude<T, undefined | null | false>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25));
  }
}
