import { randomUUID } from 'node:crypto';
import { REPORT_PRESENCE } from './lua/scripts.js';
import { defineScript, type RedisClient, type ScriptCaller } from './lua-script.js';
import { checkKeyPrefix, DEFAULT_KEY_PREFIX, presenceKeys, type PresenceKeys } from './redis-keys.js';

export interface RedisGatewayPresenceOptions {
  readonly client: RedisClient;
  /** Prefix of the keys (default `flux:`). */
  readonly keyPrefix?: string;
  /**
   * How long one report counts (default 10 s): comfortably above the interval at which a
   * gateway reports (the WebSocket metrics tick, 2 s), so a live gateway never drops out.
   */
  readonly ttlMs?: number;
  /** This gateway's identity in the shared count (default: a random UUID per process). */
  readonly instanceId?: string;
}

/**
 * The WebSocket connection count of the whole deployment: each query gateway reports its own
 * count (on every metrics tick) and gets the sum of every live gateway's latest report back,
 * so `metrics_update` shows deployment totals whichever replica a client is connected to.
 */
export class RedisGatewayPresence {
  private readonly client: RedisClient;
  private readonly keys: PresenceKeys;
  private readonly ttlMs: number;
  private readonly instanceId: string;
  private readonly report: ScriptCaller;
  private closed = false;

  constructor(options: RedisGatewayPresenceOptions) {
    this.client = options.client;
    this.keys = presenceKeys(checkKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX));
    this.ttlMs = options.ttlMs ?? 10_000;
    if (!Number.isInteger(this.ttlMs) || this.ttlMs < 1) throw new RangeError(`ttlMs must be a positive integer, got ${this.ttlMs}`);
    this.instanceId = options.instanceId ?? randomUUID();
    this.report = defineScript(this.client, REPORT_PRESENCE);
  }

  /**
   * Reports this gateway's `local` connections and resolves the deployment total. A metric, not
   * a decision: when Redis cannot answer, the local count is the best answer there is.
   */
  async total(local: number): Promise<number> {
    if (this.closed) return local;
    try {
      const total = await this.report(
        [this.keys.expiries, this.keys.connections],
        [this.instanceId, String(Math.max(0, Math.floor(local))), String(this.ttlMs)],
      );
      return Number(total);
    } catch {
      return local;
    }
  }

  /** Withdraws this gateway's report at once (a graceful shutdown), instead of after the TTL. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.multi().zrem(this.keys.expiries, this.instanceId).hdel(this.keys.connections, this.instanceId).exec();
    } catch {
      // Redis unreachable: the report expires on its own.
    }
  }
}
