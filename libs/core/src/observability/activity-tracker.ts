import type { ChangeRecord } from '@flux/domain';

export interface ActivitySnapshot {
  /** Applied events per second over the recent window; 0 once traffic stops. */
  readonly ratePerSecond: number;
  /** Distinct event sources seen within the publisher window. */
  readonly activePublishers: number;
}

export interface ActivityTrackerOptions {
  readonly rateWindowMs?: number;
  readonly publisherWindowMs?: number;
  readonly now?: () => number;
}

/**
 * Event rate and active publishers, from the change feed. Counts are kept in one-second
 * buckets, so memory stays constant however many events flow.
 */
export class ActivityTracker {
  private readonly rateWindowMs: number;
  private readonly publisherWindowMs: number;
  private readonly now: () => number;
  private readonly buckets = new Map<number, number>();
  private readonly publishers = new Map<string, number>();

  constructor(options: ActivityTrackerOptions = {}) {
    this.rateWindowMs = options.rateWindowMs ?? 5_000;
    this.publisherWindowMs = options.publisherWindowMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  record(changes: readonly ChangeRecord[]): void {
    const now = this.now();
    const second = Math.floor(now / 1000);
    this.buckets.set(second, (this.buckets.get(second) ?? 0) + changes.length);
    for (const change of changes) this.publishers.set(change.source, now);
  }

  snapshot(): ActivitySnapshot {
    const now = this.now();
    const oldestSecond = Math.floor((now - this.rateWindowMs) / 1000);
    let events = 0;
    for (const [second, count] of this.buckets) {
      if (second <= oldestSecond) this.buckets.delete(second);
      else events += count;
    }
    for (const [source, seen] of this.publishers) {
      if (now - seen > this.publisherWindowMs) this.publishers.delete(source);
    }
    return {
      ratePerSecond: Math.round((events / (this.rateWindowMs / 1000)) * 100) / 100,
      activePublishers: this.publishers.size,
    };
  }
}
