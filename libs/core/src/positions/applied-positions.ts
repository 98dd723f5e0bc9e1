import {
  ErrorCode,
  FluxError,
  HISTORY_MAX_PER_ENTITY,
  outcomeAt,
  type CommitProgress,
  type EventOutcome,
  type LogPosition,
  type StoredEvent,
} from '@flux/domain';
import type { Logger } from 'pino';
import type { ChangeSource, InterruptibleChangeSource } from '../ports/change-feed.js';
import type { Unsubscribe } from '../ports/control-store.js';
import type { HistoryQuery } from '../ports/state-store.js';

/** Where a partition's applied offset is stored (the state store: -1 before any commit). */
export interface AppliedOffsetStore {
  position(partition: number): Promise<number>;
}

/** Where an event's outcome is read back when its commit was not heard (the entity's history). */
export interface OutcomeHistory {
  history(entityId: string, query: HistoryQuery): Promise<readonly StoredEvent[]>;
}

/** An event a writer waits for. */
export interface AwaitedEvent {
  readonly position: LogPosition;
  readonly entityId: string;
}

/**
 * What a wait for an event ends with: its outcome; `unknown` when its partition is applied past
 * it but what became of it could not be told (not in the commit's outcomes, nor in the
 * entity's history any more); `reached` for a wait that wanted only the position applied;
 * `timeout` when it was not applied in time.
 */
export type AwaitedOutcome = EventOutcome | { readonly kind: 'unknown' } | { readonly kind: 'reached' } | { readonly kind: 'timeout' };

export interface AppliedPositionsOptions {
  /** Commits as reducers publish them; an interruptible source says when delivery resumes. */
  readonly source: ChangeSource & Partial<Pick<InterruptibleChangeSource, 'onResume'>>;
  readonly store: AppliedOffsetStore;
  /** Needed only to wait for outcomes (wait=applied), not for positions (min_position). */
  readonly history?: OutcomeHistory;
  readonly partitionCount: number;
  /** Requests that may wait at once in this process; one more is refused with 503. */
  readonly maxWaiting: number;
  readonly logger: Pick<Logger, 'warn' | 'debug'>;
}

interface Waiter {
  readonly offset: number;
  /** Set when the outcome is wanted, not only the position. */
  readonly entityId: string | undefined;
  settle(outcome: AwaitedOutcome): void;
}

const UNKNOWN: AwaitedOutcome = { kind: 'unknown' };
const REACHED: AwaitedOutcome = { kind: 'reached' };
const TIMEOUT: AwaitedOutcome = { kind: 'timeout' };

/**
 * A request's claim to wait, taken before its write is appended: when too many requests wait
 * already the write is refused (503) before anything is appended, so a refusal never leaves a
 * client unsure whether its event went in.
 */
export interface WaitReservation {
  /** What became of each event, in order, each wait bounded by `timeoutMs`. */
  outcomes(events: readonly AwaitedEvent[], timeoutMs: number): Promise<AwaitedOutcome[]>;
  /** Ends the claim (idempotent); call it in a finally. */
  release(): void;
}

/**
 * What each partition has applied, as the reducers' commits say it, and the requests waiting
 * for it: reads that must reflect a position (min_position) and writes that answer once their
 * events are applied (wait=applied, conditional writes). Nothing polls: a waiter is settled by
 * the commit progress the change feed carries. Where the feed can miss commits (a shard's
 * stream was down) or a commit may precede the waiter (a fast reducer), the store says how far
 * the partition is applied and the entity's history what became of the event.
 */
export class AppliedPositions {
  private readonly applied: (number | undefined)[];
  private readonly waiters: Waiter[][];
  private readonly unsubscribe: Unsubscribe[];
  /** Reads of partitions this process knows nothing of yet, one at a time per partition. */
  private readonly firstReads = new Map<number, Promise<void>>();
  private waiting = 0;
  private closed = false;

  constructor(private readonly options: AppliedPositionsOptions) {
    this.applied = new Array<number | undefined>(options.partitionCount).fill(undefined);
    this.waiters = Array.from({ length: options.partitionCount }, () => []);
    this.unsubscribe = [options.source.subscribe((_changes, progress) => progress !== undefined && this.progress(progress))];
    if (options.source.onResume !== undefined) this.unsubscribe.push(options.source.onResume((partitions) => this.resumed(partitions)));
  }

  /** Requests waiting now. */
  get waitingCount(): number {
    return this.waiting;
  }

  /** Resolves once `position`'s partition is applied at least that far; throws FLUX_WAIT_TIMEOUT after `timeoutMs`. */
  async waitForPosition(position: LogPosition, timeoutMs: number): Promise<void> {
    const reservation = this.reserve();
    try {
      const outcome = await this.wait(position.partition, position.offset, undefined, timeoutMs);
      if (outcome.kind === 'timeout') {
        throw new FluxError(
          ErrorCode.WaitTimeout,
          `partition ${position.partition} was not applied up to offset ${position.offset} within ${timeoutMs} ms; retry later`,
        );
      }
    } finally {
      reservation.release();
    }
  }

  /** Claims a place among the waiting requests; throws FLUX_UNAVAILABLE (503) when there is none. */
  reserve(): WaitReservation {
    if (this.closed) throw new FluxError(ErrorCode.Unavailable, 'the server is shutting down');
    if (this.waiting >= this.options.maxWaiting) {
      throw new FluxError(
        ErrorCode.Unavailable,
        `too many requests are waiting for events to be applied (at most ${this.options.maxWaiting}); retry later`,
      );
    }
    this.waiting++;
    let released = false;
    return {
      outcomes: (events, timeoutMs) =>
        Promise.all(events.map((event) => this.wait(event.position.partition, event.position.offset, event.entityId, timeoutMs))),
      release: () => {
        if (released) return;
        released = true;
        this.waiting--;
      },
    };
  }

  /** Stops listening; whoever still waits hears `timeout`. */
  close(): void {
    this.closed = true;
    for (const stop of this.unsubscribe.splice(0)) stop();
    for (const waiters of this.waiters) for (const waiter of waiters.splice(0)) waiter.settle(TIMEOUT);
  }

  private wait(partition: number, offset: number, entityId: string | undefined, timeoutMs: number): Promise<AwaitedOutcome> {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.options.partitionCount) {
      return Promise.reject(new FluxError(ErrorCode.Validation, `partition ${partition} does not exist`));
    }
    const known = this.applied[partition];
    if (known !== undefined && known >= offset) return this.settled(partition, offset, entityId);
    return new Promise<AwaitedOutcome>((resolve) => {
      const list = this.waiters[partition]!;
      const timer = setTimeout(() => {
        remove();
        resolve(TIMEOUT);
      }, timeoutMs);
      const remove = (): void => {
        const index = list.indexOf(waiter);
        if (index >= 0) list.splice(index, 1);
      };
      const waiter: Waiter = {
        offset,
        entityId,
        settle: (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
      };
      // Registered before anything is read, so no commit heard from now on is missed; one made
      // before is in the store, which is read next when this process does not know the partition.
      list.push(waiter);
      if (known === undefined) this.readFirst(partition);
    });
  }

  /** The outcome of an event whose partition is known to be applied past it. */
  private async settled(partition: number, offset: number, entityId: string | undefined): Promise<AwaitedOutcome> {
    if (entityId === undefined) return REACHED;
    const history = this.options.history;
    if (history === undefined) return UNKNOWN;
    try {
      const entries = await history.history(entityId, { sinceMs: 0, limit: HISTORY_MAX_PER_ENTITY });
      const entry = entries.find((stored) => stored.offset === offset);
      if (entry?.rejected !== undefined) return { offset, kind: 'conflict', currentVersion: entry.rejected.currentVersion };
      if (entry?.version !== undefined) return { offset, kind: 'applied', version: entry.version };
    } catch (error) {
      this.options.logger.warn({ err: error, partition, offset }, 'could not read back the outcome of an applied event');
    }
    return UNKNOWN;
  }

  private progress(progress: CommitProgress): void {
    const { partition, lastOffset, outcomes } = progress;
    if (this.waiters[partition] === undefined) return;
    this.applied[partition] = Math.max(this.applied[partition] ?? -1, lastOffset);
    this.release(partition, (waiter) => {
      if (waiter.entityId === undefined) return REACHED;
      // Progress without outcomes (a stream that does not carry them): read them back.
      if (outcomes === undefined) return undefined;
      return outcomeAt(outcomes, waiter.offset) ?? UNKNOWN;
    });
  }

  /**
   * Delivery of some partitions (re)started: commits made while it was down were never heard,
   * so the store says how far they are applied, and waiters it passed read their outcome back.
   */
  private resumed(partitions: readonly number[]): void {
    void this.refresh(partitions);
  }

  /**
   * Reads how far a partition this process has heard nothing of is applied. One read at a time
   * is enough: a waiter that registers while it runs is settled by the commits heard from then
   * on, and a commit made before it registered either came after the read started (so it is
   * heard) or the stream was down (so its resumption reads again).
   */
  private readFirst(partition: number): void {
    if (this.firstReads.has(partition)) return;
    const read = this.refresh([partition]).finally(() => this.firstReads.delete(partition));
    this.firstReads.set(partition, read);
  }

  private async refresh(partitions: readonly number[]): Promise<void> {
    await Promise.all(
      partitions.map(async (partition) => {
        let stored: number;
        try {
          stored = await this.options.store.position(partition);
        } catch (error) {
          // Waiters keep waiting for the feed; their timeout bounds them.
          this.options.logger.warn({ err: error, partition }, 'could not read how far a partition is applied');
          return;
        }
        if (this.waiters[partition] === undefined) return;
        this.applied[partition] = Math.max(this.applied[partition] ?? -1, stored);
        this.release(partition, (waiter) => (waiter.entityId === undefined ? REACHED : undefined));
      }),
    );
  }

  /**
   * Settles the partition's waiters it has applied past: with the outcome `known` gives, or
   * else as read back from the store.
   */
  private release(partition: number, known: (waiter: Waiter) => AwaitedOutcome | undefined): void {
    const applied = this.applied[partition]!;
    const list = this.waiters[partition]!;
    if (list.length === 0) return;
    const remaining: Waiter[] = [];
    for (const waiter of list) {
      if (waiter.offset > applied) {
        remaining.push(waiter);
        continue;
      }
      const outcome = known(waiter);
      if (outcome !== undefined) waiter.settle(outcome);
      else void this.settled(partition, waiter.offset, waiter.entityId).then((read) => waiter.settle(read));
    }
    list.length = 0;
    list.push(...remaining);
  }
}
