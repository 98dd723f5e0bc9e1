import type { Cursors } from '../connector.js';

/**
 * The cursors of one poll: reads the previous poll's values and collects the next ones. A
 * complete poll keeps only what it touched (pages that no longer exist are forgotten); a poll
 * that stopped early keeps the previous values it did not get to.
 */
export class CursorBook {
  private readonly next = new Map<string, string>();

  constructor(private readonly previous: Cursors) {}

  get(key: string): string | undefined {
    return Object.hasOwn(this.previous, key) ? this.previous[key] : undefined;
  }

  getJson<T>(key: string): T | undefined {
    const value = this.get(key);
    if (value === undefined) return undefined;
    try {
      return JSON.parse(value) as T;
    } catch {
      return undefined;
    }
  }

  set(key: string, value: string): void {
    this.next.set(key, value);
  }

  setJson(key: string, value: unknown): void {
    this.set(key, JSON.stringify(value));
  }

  result(complete: boolean): Cursors {
    const touched = Object.fromEntries(this.next);
    return complete ? touched : { ...this.previous, ...touched };
  }
}
