/**
 * Who polls a connector credential. At most one holder has a key at a time; a lease that is
 * not renewed expires after its TTL, so another process takes over when the holder dies.
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
