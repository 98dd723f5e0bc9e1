import type { PollLease } from '@flux/core';
import { checkKeyPrefix, DEFAULT_KEY_PREFIX } from './redis-keys.js';
import { defineScript, type RedisClient, type ScriptCaller } from './lua-script.js';
import { ACQUIRE_LEASE, RELEASE_LEASE, RENEW_LEASE } from './lua/scripts.js';
import { storeCall } from './redis-errors.js';

export interface RedisPollLeaseOptions {
  readonly client: RedisClient;
  readonly keyPrefix?: string;
}

/**
 * Leases in Redis (the connectors' PollLease port), so that exactly one process of a
 * deployment polls a credential at a time, and another takes over once a dead holder's lease
 * expires. Each operation is one script, so check-and-set never races.
 */
export class RedisPollLease implements PollLease {
  private readonly prefix: string;
  private readonly acquireScript: ScriptCaller;
  private readonly renewScript: ScriptCaller;
  private readonly releaseScript: ScriptCaller;

  constructor(options: RedisPollLeaseOptions) {
    this.prefix = `${checkKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX)}lease:`;
    this.acquireScript = defineScript(options.client, ACQUIRE_LEASE);
    this.renewScript = defineScript(options.client, RENEW_LEASE);
    this.releaseScript = defineScript(options.client, RELEASE_LEASE);
  }

  acquire(key: string, holder: string, ttlMs: number): Promise<boolean> {
    return storeCall('acquireLease', async () => (await this.acquireScript([this.prefix + key], [holder, ttlMs])) === 1);
  }

  renew(key: string, holder: string, ttlMs: number): Promise<boolean> {
    return storeCall('renewLease', async () => (await this.renewScript([this.prefix + key], [holder, ttlMs])) === 1);
  }

  async release(key: string, holder: string): Promise<void> {
    await storeCall('releaseLease', () => this.releaseScript([this.prefix + key], [holder]));
  }
}
