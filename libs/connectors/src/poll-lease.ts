import { systemClock, type Clock } from './clock.js';

/**
 * Who polls a credential. At most one holder has a key at a time; a lease that is not renewed
 * expires after its TTL, so another process takes over when the holder dies.
 *
 * It maps onto Redis directly:
 * - acquire: `SET <key> <holder> NX PX <ttl>`, or, when GET returns `holder`, `PEXPIRE` (one Lua script);
 * - renew:   `if GET(key) == holder then PEXPIRE(key, ttl) return 1 else return 0` (Lua);
 * - release: `if GET(key) == holder then DEL(key)` (Lua).
 */
export interface PollLease {
  /** Takes the lease (or extends it when `holder` already has it); false when someone else holds it. */
  acquire(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Extends a lease `holder` holds; false when it expired or another holder took it. */
  renew(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `holder` still has it; never removes another holder's lease. */
  release(key: string, holder: string): Promise<void>;
}

/** The lease key of one credential. */
export const pollLeaseKey = (connector: string, owner: string): string => `${connector}:${owner}`;

/** Leases within one process: what the embedded (single-process) server uses. */
export class InProcessPollLease implements PollLease {
  private readonly leases = new Map<string, { holder: string; expiresAt: number }>();

  constructor(private readonly clock: Clock = systemClock) {}

  async acquire(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const current = this.leases.get(key);
    const now = this.clock.now();
    if (current !== undefined && current.expiresAt > now && current.holder !== holder) return false;
    this.leases.set(key, { holder, expiresAt: now + ttlMs });
    return true;
  }

  async renew(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const current = this.leases.get(key);
    const now = this.clock.now();
    if (current === undefined || current.holder !== holder || current.expiresAt <= now) return false;
    this.leases.set(key, { holder, expiresAt: now + ttlMs });
    return true;
  }

  async release(key: string, holder: string): Promise<void> {
    if (this.leases.get(key)?.holder === holder) this.leases.delete(key);
  }
}
