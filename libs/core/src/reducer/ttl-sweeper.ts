import { tombstoneFor, TTL_SOURCE, type FluxEvent } from '@flux/domain';
import type { Logger } from 'pino';
import { EventAppender } from '../ingest/event-appender.js';
import type { EventLog } from '../ports/event-log.js';
import type { PartitionStateWriter } from '../ports/state-store.js';

export interface TtlSweepSettings {
  /** How often a partition's writer looks for expired entities. */
  readonly intervalMs: number;
  /** Entities one look deletes at most (the rest wait for the next tick). */
  readonly maxPerTick: number;
}

export const DEFAULT_TTL_SWEEP: TtlSweepSettings = { intervalMs: 1000, maxPerTick: 1000 };

export interface TtlSweeperOptions {
  readonly partition: number;
  readonly log: EventLog;
  readonly store: PartitionStateWriter;
  readonly logger: Logger;
  readonly settings: TtlSweepSettings;
  /** Offset of the last record the partition's reducer applied. */
  readonly appliedOffset: () => number;
  /** Hears how many tombstones each sweep appended. */
  readonly onExpired?: (count: number) => void;
  readonly now?: () => number;
}

/**
 * Deletes the expired entities of one partition, on the side of its single writer (it runs
 * while the partition's reducer holds its claim). It reads the store's expiry index and appends
 * to the log a tombstone conditioned on the version it saw (`if_version`): the reducer decides
 * it at apply time like any conditional write, so an update that raced in first keeps the entity
 * alive, and every replay of the log decides the same. The index lives in the store, so expiries
 * are found again after a restart or a handover.
 */
export class TtlSweeper {
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private stopped = false;
  /** Tombstones appended and not applied yet: entity id → its offset. Not appended twice. */
  private readonly pending = new Map<string, number>();
  private readonly appender: EventAppender;
  private readonly now: () => number;

  constructor(private readonly options: TtlSweeperOptions) {
    this.appender = new EventAppender(options.log);
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.options.settings.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    // One sweep at a time: a slow store or log must not pile sweeps up.
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await this.sweep();
    } catch (error) {
      // The next tick tries again; the index still holds whatever was not deleted.
      this.options.logger.warn({ err: error, partition: this.options.partition }, 'ttl sweep failed; trying again next tick');
    } finally {
      this.sweeping = false;
    }
  }

  /** One bounded pass; resolves with the tombstones appended. */
  async sweep(): Promise<readonly FluxEvent[]> {
    const { partition, store, settings } = this.options;
    const applied = this.options.appliedOffset();
    for (const [id, offset] of this.pending) if (offset <= applied) this.pending.delete(id);
    const now = this.now();
    const due = (await store.expiredEntities(partition, now, settings.maxPerTick)).filter((id) => !this.pending.has(id));
    if (due.length === 0 || this.stopped) return [];
    const entities = await store.loadEntities(partition, due);
    const tombstones: FluxEvent[] = [];
    for (const id of due) {
      const entity = entities.get(id);
      // The index is written with the state, so this only guards against a clock that went back.
      if (entity?.ttl === undefined || entity.ttl.expiresAt > now) continue;
      tombstones.push({ ...tombstoneFor(id, TTL_SOURCE, now), if_version: entity.version });
    }
    // A writer that stopped meanwhile (replaced, or shutting down) appends nothing more.
    if (tombstones.length === 0 || this.stopped) return [];
    const positions = await this.appender.append(tombstones);
    tombstones.forEach((tombstone, i) => this.pending.set(tombstone.payload.entity_id, positions[i]!.offset));
    this.options.onExpired?.(tombstones.length);
    this.options.logger.debug({ partition, expired: tombstones.length }, 'expired entities tombstoned');
    return tombstones;
  }
}
