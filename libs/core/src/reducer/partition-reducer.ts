import {
  decideCondition,
  ErrorCode,
  FluxError,
  isFluxError,
  EntitySize,
  exceededBound,
  MergeBatch,
  type EntityBound,
  countKeyFor,
  isTombstone,
  decodeEvent,
  type ChangeRecord,
  type EventOutcome,
  type FluxEvent,
  type StoredEntity,
} from '@flux/domain';
import type { Logger } from 'pino';
import type { ChangePublisher } from '../ports/change-feed.js';
import type { EventLog, LogRecord, LogSubscription } from '../ports/event-log.js';
import type { ExpiryChange, HistoryEntry, PartitionClaim, PartitionStateWriter } from '../ports/state-store.js';
import { TimeSlice } from '../runtime/time-slice.js';
import { EntityWorkingSet } from './entity-working-set.js';
import { TtlSweeper, type TtlSweepSettings } from './ttl-sweeper.js';

export interface PartitionReducerOptions {
  readonly partition: number;
  readonly log: EventLog;
  readonly store: PartitionStateWriter;
  /** Where each commit's changes go once committed. */
  readonly feed: ChangePublisher;
  readonly logger: Logger;
  /**
   * Records applied per commit at most (default 1000). A commit's store transaction cannot be
   * cut into slices, so this bounds how long it can hold the event loop; twice as many made
   * commits no cheaper per event.
   */
  readonly maxBatch?: number;
  readonly onCommitted?: (partition: number, lastOffset: number, events: number, commit: CommitTiming) => void;
  /**
   * The largest entity kept; an event that would make its entity exceed it is not applied (the
   * entity stays as it was). The decision depends only on the entity and the event, so a replay
   * decides the same while the bound is unchanged. Unbounded when absent.
   */
  readonly entityBound?: EntityBound;
  /** Hears each event not applied: its entity had no room, or its condition did not hold. */
  readonly onRefused?: (reason: 'entity_limit' | 'version_conflict') => void;
  /**
   * Called when this reducer learns a newer claim owns its partition: a commit refused by the
   * fence, or a claim check. The reducer stops applying either way.
   */
  readonly onFenced?: (partition: number, detectedBy: 'commit' | 'claim_check') => void;
  /**
   * How often the reducer checks that its claim is still the newest (off when absent). Only a
   * commit meets the fence, so without this an owner that was paused (SIGSTOP, a long GC, a VM
   * freeze) and has nothing to commit would never learn it was replaced, and would keep
   * serving its partitions. A timer overdue after a pause fires as soon as the process wakes.
   */
  readonly claimCheckIntervalMs?: number;
  /**
   * The entities this reducer committed, kept across batches (shared by the reducers of a
   * process, see ReducerGroup); a reducer of its own when absent.
   */
  readonly workingSet?: EntityWorkingSet;
  /** How the partition's expired entities are found and deleted (off when absent). */
  readonly ttlSweep?: TtlSweepSettings;
  /** Hears how many tombstones of expired entities a sweep appended. */
  readonly onExpired?: (count: number) => void;
}

/** What one commit took: the records it covered (applied or not) and the store's commit time. */
export interface CommitTiming {
  readonly records: number;
  readonly seconds: number;
}

/**
 * Where a reducer is in its life: `idle` until start() claimed the partition, `running` while
 * it applies under that claim, `stopped` once stop() was called, a claim check found it
 * replaced (records still in flight are then not applied) or applying failed.
 */
type ReducerState =
  | { readonly phase: 'idle' }
  | {
      readonly phase: 'running';
      readonly claim: PartitionClaim;
      readonly subscription: LogSubscription;
      readonly claimCheck: NodeJS.Timeout | undefined;
      readonly sweeper: TtlSweeper | undefined;
    }
  | { readonly phase: 'stopped'; readonly subscription: LogSubscription | undefined };

/**
 * The single writer of one partition. It claims the partition (fencing any older owner),
 * resumes after the offset the store holds, and commits each batch of records together
 * with that offset, so every event is applied exactly once across crashes and restarts.
 */
export class PartitionReducer {
  readonly partition: number;
  private state: ReducerState = { phase: 'idle' };
  private applied = -1;
  private readonly waiters: { offset: number; resolve: () => void }[] = [];
  private rejectReplaced: (error: FluxError) => void = () => {};
  /** Rejects once a claim check finds a newer owner. */
  private readonly replaced = new Promise<never>((_, reject) => {
    this.rejectReplaced = reject;
  });

  private readonly working: EntityWorkingSet;

  constructor(private readonly options: PartitionReducerOptions) {
    this.partition = options.partition;
    this.working = options.workingSet ?? new EntityWorkingSet();
  }

  /** Offset of the last record applied (-1 before any). */
  get appliedOffset(): number {
    return this.applied;
  }

  /** The epoch of this reducer's claim once start() claimed the partition. */
  get claimEpoch(): number | undefined {
    return this.state.phase === 'running' ? this.state.claim.epoch : undefined;
  }

  /** True while the reducer applies under its claim (claimed, not stopped or replaced). */
  get running(): boolean {
    return this.state.phase === 'running';
  }

  async start(): Promise<void> {
    if (this.state.phase !== 'idle') throw new FluxError(ErrorCode.Internal, `the reducer of partition ${this.partition} was started already`);
    const claim = await this.options.store.claimPartition(this.partition);
    // An older owner may have written since this process last committed the partition.
    this.working.forget(this.partition);
    this.applied = claim.appliedOffset;
    this.options.logger.info({ partition: this.partition, epoch: claim.epoch, appliedOffset: claim.appliedOffset }, 'partition claimed');
    const subscription = this.options.log.subscribe(this.partition, claim.appliedOffset + 1, (records) => this.apply(claim, records), {
      maxBatch: this.options.maxBatch ?? 1000,
    });
    subscription.done.catch((error: unknown) => {
      this.options.logger.error({ err: error, partition: this.partition }, 'partition reducer stopped');
      // It applies nothing more: no longer running (and no more claim checks).
      this.halt();
    });
    this.replaced.catch(() => undefined);
    const interval = this.options.claimCheckIntervalMs;
    const claimCheck = interval === undefined ? undefined : setInterval(() => void this.checkClaim(claim), interval);
    claimCheck?.unref();
    const sweep = this.options.ttlSweep;
    const sweeper =
      sweep === undefined
        ? undefined
        : new TtlSweeper({
            partition: this.partition,
            log: this.options.log,
            store: this.options.store,
            logger: this.options.logger,
            settings: sweep,
            appliedOffset: () => this.applied,
            ...(this.options.onExpired === undefined ? {} : { onExpired: this.options.onExpired }),
          });
    sweeper?.start();
    this.state = { phase: 'running', claim, subscription, claimCheck, sweeper };
  }

  /** Resolves once every record up to `offset` is applied. */
  waitForOffset(offset: number): Promise<void> {
    if (this.applied >= offset) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ offset, resolve }));
  }

  /** Settles when the reducer stops on its own (rejects with the failure, e.g. when fenced). */
  get done(): Promise<void> {
    const subscription = this.state.phase === 'idle' ? Promise.resolve() : (this.state.subscription?.done ?? Promise.resolve());
    // `replaced` first: once both settled (the check stopped the subscription before anyone
    // asked), race takes the first settled in order, and being replaced is the news.
    return this.options.claimCheckIntervalMs === undefined ? subscription : Promise.race([this.replaced, subscription]);
  }

  async stop(): Promise<void> {
    await this.halt()?.stop();
  }

  /** Moves to `stopped` (once); the subscription to stop, if there is one. */
  private halt(): LogSubscription | undefined {
    const state = this.state;
    if (state.phase === 'idle') {
      this.state = { phase: 'stopped', subscription: undefined };
      return undefined;
    }
    if (state.phase === 'running') {
      clearInterval(state.claimCheck);
      state.sweeper?.stop();
      this.state = { phase: 'stopped', subscription: state.subscription };
    }
    return state.subscription;
  }

  private async checkClaim(claim: PartitionClaim): Promise<void> {
    let newest: number;
    try {
      newest = await this.options.store.claimEpoch(this.partition);
    } catch (error) {
      // The store being unreachable says nothing about ownership; commits will tell.
      this.options.logger.debug({ err: error, partition: this.partition }, 'claim check failed; trying again later');
      return;
    }
    if (newest === claim.epoch || this.state.phase !== 'running') return;
    const error = new FluxError(
      ErrorCode.Fenced,
      `partition ${this.partition} is owned by a newer claim (epoch ${newest}, this claim has ${claim.epoch})`,
    );
    this.options.logger.error({ err: error, partition: this.partition }, 'partition reducer replaced; it stops applying');
    this.options.onFenced?.(this.partition, 'claim_check');
    this.rejectReplaced(error);
    // Nothing more may be applied under the old claim (a commit would be fenced anyway).
    void this.halt()?.stop();
  }

  private async apply(claim: PartitionClaim, records: readonly LogRecord[]): Promise<void> {
    // Records may arrive before start() recorded the running state; only a stop ends applying.
    if (this.state.phase === 'stopped' || records.length === 0) return;
    try {
      await this.applyBatch(claim, records);
    } catch (error) {
      // The batch merged into the working set's entities in place, and its commit may or may
      // not have landed: only the store knows the state now.
      this.working.forget(this.partition);
      throw error;
    }
  }

  private async applyBatch(claim: PartitionClaim, records: readonly LogRecord[]): Promise<void> {
    const slice = new TimeSlice();
    const decoded: { record: LogRecord; event: FluxEvent | undefined }[] = [];
    for (const record of records) {
      if (slice.due) await slice.yield();
      decoded.push({ record, event: this.decode(record) });
    }
    const ids = [...new Set(decoded.flatMap(({ event }) => (event === undefined ? [] : [event.payload.entity_id])))];
    const { current, sizes } = await this.load(ids);
    const touched = new Set<string>();
    // No prototype: count keys are namespaces, and `constructor` or `__proto__` are valid ones.
    const countDeltas: Record<string, number> = Object.create(null) as Record<string, number>;
    const history: HistoryEntry[] = [];
    const changes: ChangeRecord[] = [];
    const outcomes: EventOutcome[] = [];
    let eventsApplied = 0;
    // Every entity of the batch is the reducer's own (see load), so events merge in place.
    const merge = new MergeBatch();
    for (const entity of current.values()) if (entity !== undefined) merge.adopt(entity.properties);
    // Expiries as the store's index has them, to tell it what the batch changed (only entities
    // with a ttl: the others' absence reads as undefined, so batches without ttls keep it empty).
    const expiryBefore = new Map<string, number>();
    for (const [id, entity] of current) if (entity?.ttl !== undefined) expiryBefore.set(id, entity.ttl.expiresAt);
    const bound = this.options.entityBound;

    for (const { record, event } of decoded) {
      if (event === undefined) continue;
      // Other partitions, requests and timers get a turn between slices; this partition's next
      // batch waits for this one (the subscription delivers one at a time).
      if (slice.due) await slice.yield();
      const id = event.payload.entity_id;
      const position = { partition: this.partition, offset: record.offset };
      const entity = current.get(id);
      // A condition (if_version, if_absent) is decided here, by the partition's single writer,
      // from the entity as the log has it at this offset: every replay decides the same. A
      // failed one changes nothing but is recorded, so the history says why.
      const verdict = decideCondition(event, entity);
      if (!verdict.holds) {
        this.options.onRefused?.('version_conflict');
        outcomes.push({ offset: record.offset, kind: 'conflict', currentVersion: verdict.currentVersion });
        const rejected = { code: 'version_conflict', currentVersion: verdict.currentVersion } as const;
        history.push({
          entityId: id,
          offset: record.offset,
          stored: { event, storedAt: record.timestamp, offset: record.offset, rejected },
          encodedEvent: record.value,
        });
        continue;
      }
      let size = sizes.get(id);
      if (!isTombstone(event)) {
        // Sizes are kept per event, so a check costs O(event), not O(entity).
        if (size === undefined) sizes.set(id, (size = EntitySize.of(entity?.properties)));
        const next = size.after(entity?.properties ?? {}, event.payload.properties);
        const exceeded = bound === undefined ? undefined : exceededBound(next, bound);
        if (exceeded !== undefined) {
          this.options.logger.warn(
            {
              partition: this.partition,
              offset: record.offset,
              eventId: event.eventId,
              entityId: id,
              entity: { properties: size.properties, bytes: size.bytes },
              wouldBe: { properties: next.properties, bytes: next.bytes },
              bound,
            },
            `event not applied: ${exceeded}`,
          );
          this.options.onRefused?.('entity_limit');
          outcomes.push({ offset: record.offset, kind: 'refused', currentVersion: entity?.version ?? 0 });
          continue;
        }
        next.commit();
      }
      const result = merge.apply(entity, event, record.timestamp, position);
      // A deleted entity starts afresh: so does its size.
      if (result.kind === 'delete') sizes.delete(id);
      touched.add(id);
      eventsApplied++;
      const version = result.kind === 'upsert' ? result.entity.version : 0;
      outcomes.push({ offset: record.offset, kind: 'applied', version });
      history.push({
        entityId: id,
        offset: record.offset,
        stored: { event, storedAt: record.timestamp, offset: record.offset, version },
        encodedEvent: record.value,
      });
      const countKey = countKeyFor(id);
      if (result.kind === 'upsert') {
        current.set(id, result.entity);
        if (result.created && countKey !== undefined) countDeltas[countKey] = (countDeltas[countKey] ?? 0) + 1;
        changes.push({
          ...position,
          kind: 'upsert',
          entityId: id,
          changes: result.changes,
          version: result.entity.version,
          timestamp: record.timestamp,
          source: event.source,
        });
      } else if (result.existed) {
        current.set(id, undefined);
        if (countKey !== undefined) countDeltas[countKey] = (countDeltas[countKey] ?? 0) - 1;
        changes.push({ ...position, kind: 'delete', entityId: id, timestamp: record.timestamp, source: event.source });
      }
    }

    const upserts: { id: string; entity: StoredEntity }[] = [];
    const deletes: string[] = [];
    const expiries: ExpiryChange[] = [];
    for (const id of touched) {
      const entity = current.get(id);
      if (entity === undefined) deletes.push(id);
      else upserts.push({ id, entity });
      const previous = expiryBefore.get(id);
      const next = entity?.ttl?.expiresAt;
      if (previous !== next) expiries.push({ id, ...(previous === undefined ? {} : { previous }), ...(next === undefined ? {} : { next }) });
    }
    const lastOffset = records[records.length - 1]!.offset;
    const commitStarted = performance.now();
    try {
      await this.options.store.commit(claim, {
        lastOffset,
        upserts,
        deletes,
        history,
        countDeltas,
        eventsApplied,
        changes,
        ...(expiries.length === 0 ? {} : { expiries }),
      });
    } catch (error) {
      if (isFluxError(error) && error.code === ErrorCode.Fenced) this.options.onFenced?.(this.partition, 'commit');
      throw error;
    }
    const timing: CommitTiming = { records: records.length, seconds: (performance.now() - commitStarted) / 1000 };
    for (const id of ids) {
      const entity = current.get(id);
      this.working.set(this.partition, id, entity, sizes.get(id) ?? EntitySize.of(entity?.properties));
    }
    this.applied = lastOffset;
    this.options.onCommitted?.(this.partition, lastOffset, eventsApplied, timing);
    // Published even without changes: writers waiting for an event learn its outcome from here.
    this.options.feed.publish(changes, { partition: this.partition, lastOffset, outcomes });
    this.releaseWaiters();
  }

  /**
   * The entities of a batch and their sizes: from the working set where it knows them, the
   * rest from the store in one call. The store's entities are fresh objects (see
   * PartitionStateWriter.loadEntities), so both kinds are the reducer's to merge into.
   */
  private async load(ids: readonly string[]): Promise<{ current: Map<string, StoredEntity | undefined>; sizes: Map<string, EntitySize> }> {
    const current = new Map<string, StoredEntity | undefined>();
    const sizes = new Map<string, EntitySize>();
    const missing: string[] = [];
    for (const id of ids) {
      const known = this.working.get(this.partition, id);
      if (known === undefined) {
        missing.push(id);
      } else {
        current.set(id, known.entity);
        sizes.set(id, known.size);
      }
    }
    if (missing.length > 0) {
      const loaded = await this.options.store.loadEntities(this.partition, missing);
      for (const id of missing) current.set(id, loaded.get(id));
    }
    return { current, sizes };
  }

  private decode(record: LogRecord): FluxEvent | undefined {
    try {
      return decodeEvent(record.value);
    } catch (error) {
      // The ingest path only appends validated events; an undecodable record is skipped
      // (and its offset committed) rather than blocking the partition forever.
      this.options.logger.error({ err: error, partition: record.partition, offset: record.offset }, 'undecodable log record skipped');
      return undefined;
    }
  }

  private releaseWaiters(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      if (this.applied >= waiter.offset) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }
}
