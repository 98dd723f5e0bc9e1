import type { PollLease } from '@flux/core';

/** Leases within one process: what the embedded (single-process) server uses. */
export class MemoryPollLease implements PollLease {
  private readonly leases = new Map<string, { holder: string; expiresAt: number }>();

  /** `now` (epoch ms) is injectable so tests can expire a lease without waiting. */
  constructor(private readonly now: () => number = Date.now) {}

  async acquire(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const current = this.leases.get(key);
    const now = this.now();
    if (current !== undefined && current.expiresAt > now && current.holder !== holder) return false;
    this.leases.set(key, { holder, expiresAt: now + ttlMs });
    return true;
  }

  async renew(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const current = this.leases.get(key);
    const now = this.now();
    if (current === undefined || current.holder !== holder || current.expiresAt <= now) return false;
    this.leases.set(key, { holder, expiresAt: now + ttlMs });
    return true;
  }

  async release(key: string, holder: string): Promise<void> {
    if (this.leases.get(key)?.holder === holder) this.leases.delete(key);
  }
}
