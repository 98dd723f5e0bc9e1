import type { Logger } from 'pino';
import type { ChangeRecord, EntitySnapshot, FeedRecord } from '@flux/domain';
import type { ChangedPage, ChangeCatchUp } from '../ports/change-catch-up.js';
import type { FeedListener, InterruptibleChangeSource, SubscriberFeed } from '../ports/change-feed.js';
import type { Unsubscribe } from '../ports/control-store.js';

export interface CatchingUpFeedOptions {
  readonly source: InterruptibleChangeSource;
  readonly catchUp: ChangeCatchUp;
  /** The log's partition count. */
  readonly partitionCount: number;
  readonly logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** Changes asked for per catch-up page (default 1000). */
  readonly pageSize?: number;
  /**
   * Changes of a catching-up partition held back at most (default 10 000); past it they are
   * dropped and the partition catches up once more instead, from the store.
   */
  readonly maxHeld?: number;
  /** First delay before a failed catch-up is tried again (default 250 ms, doubling up to 5 s). */
  readonly retryMs?: number;
  readonly now?: () => number;
}

interface PartitionState {
  /**
   * Where the next catch-up starts: everything of the partition up to this offset was delivered
   * (or was applied before the feed started). A change at or below it can only be one published
   * again (a reducer replaying after its store lost writes), and is dropped.
   */
  position: number;
  /** Changes arriving while the partition catches up, delivered after its snapshots. */
  held: ChangeRecord[] | undefined;
  /** Catch up again once the running catch-up ends (delivery restarted meanwhile, or `held` overflowed). */
  again: boolean;
  /** Entities a catch-up sent snapshots of, with the offset each was read at. */
  readonly snapshots: Map<string, number>;
  /** The highest offset in `snapshots`: once changes pass it, none of them can be older. */
  snapshotsUntil: number;
}

/** A run of the feed: from its first listener to its last; a new run starts afresh. */
interface Run {
  readonly partitions: PartitionState[];
  stopped: boolean;
  stop(): void;
}

const DEFAULT_PAGE_SIZE = 1000;
const DEFAULT_MAX_HELD = 10_000;
const MAX_RETRY_MS = 5_000;

/**
 * The change feed a query gateway's WebSocket subscribers follow: the shards' changes, made
 * gap-free. Whenever delivery of a partition (re)starts (the feed starts, or a shard's stream
 * re-opens after it was down), the partition catches up: the shared store tells which entities
 * changed after the last change delivered, and each is sent as a snapshot of its current state
 * (see EntitySnapshot), read at a known offset. Changes arriving meanwhile are held back and
 * then delivered, except those the snapshots already contain, so a subscriber's picture of an
 * entity never goes back to an older state. When the store no longer knows what changed that
 * far back, a ChangeGap tells listeners to start over.
 */
export class CatchingUpFeed implements SubscriberFeed {
  private readonly listeners = new Set<FeedListener>();
  private readonly pageSize: number;
  private readonly maxHeld: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  private run: Run | undefined;

  constructor(private readonly options: CatchingUpFeedOptions) {
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.maxHeld = options.maxHeld ?? DEFAULT_MAX_HELD;
    this.retryMs = options.retryMs ?? 250;
    this.now = options.now ?? Date.now;
  }

  subscribe(listener: FeedListener): Unsubscribe {
    // Wrapped, so the same function subscribed twice is two subscriptions.
    const entry: FeedListener = (records) => listener(records);
    this.listeners.add(entry);
    if (this.listeners.size === 1) this.run = this.start();
    return () => {
      if (!this.listeners.delete(entry) || this.listeners.size > 0) return;
      this.run?.stop();
      this.run = undefined;
    };
  }

  private start(): Run {
    const { source, catchUp, partitionCount } = this.options;
    const partitions: PartitionState[] = [];
    let unsubscribe: Unsubscribe[] = [];
    const run: Run = {
      partitions,
      stopped: false,
      stop() {
        run.stopped = true;
        for (const stop of unsubscribe) stop();
        unsubscribe = [];
      },
    };
    const all = Array.from({ length: partitionCount }, (_, partition) => partition);
    void (async () => {
      // Where each partition stands before listening: the first catch-up then covers anything
      // applied between this read and the streams delivering to this feed.
      const positions = await this.retrying(run, "read the partitions' positions", () =>
        Promise.all(all.map((partition) => catchUp.position(partition))),
      );
      if (positions === undefined || run.stopped) return;
      for (const position of positions) partitions.push({ position, held: undefined, again: false, snapshots: new Map(), snapshotsUntil: -1 });
      unsubscribe = [source.subscribe((changes) => this.receive(run, changes)), source.onResume((resumed) => this.catchUpAll(run, resumed))];
      this.catchUpAll(run, all);
    })();
    return run;
  }

  private receive(run: Run, changes: readonly ChangeRecord[]): void {
    if (run.stopped) return;
    const deliver: ChangeRecord[] = [];
    for (const change of changes) {
      const state = run.partitions[change.partition];
      if (state === undefined) {
        this.options.logger.error({ partition: change.partition }, 'change of an unknown partition dropped');
      } else if (state.held !== undefined) {
        if (state.held.length < this.maxHeld) {
          state.held.push(change);
        } else {
          // Dropped: they are in the store, so catching up once more covers them.
          state.held = [];
          state.again = true;
        }
      } else if (this.accept(state, change)) {
        deliver.push(change);
      }
    }
    this.emit(deliver);
  }

  /** Whether a change the snapshots sent so far do not already contain; advances the position. */
  private accept(state: PartitionState, change: ChangeRecord): boolean {
    if (change.offset <= state.position) return false;
    state.position = change.offset;
    const snapshotAt = state.snapshots.get(change.entityId);
    if (change.offset >= state.snapshotsUntil) state.snapshots.clear();
    return snapshotAt === undefined || change.offset > snapshotAt;
  }

  private catchUpAll(run: Run, partitions: readonly number[]): void {
    for (const partition of partitions) {
      const state = run.partitions[partition];
      if (state === undefined || run.stopped) continue;
      if (state.held !== undefined) {
        state.again = true;
      } else {
        state.held = [];
        void this.catchUpPartition(run, partition, state);
      }
    }
  }

  private async catchUpPartition(run: Run, partition: number, state: PartitionState): Promise<void> {
    let sent = 0;
    do {
      state.again = false;
      const caughtUp = await this.retrying(run, `catch up partition ${partition}`, () => this.sendSnapshots(run, partition, state));
      if (caughtUp === undefined) return;
      sent += caughtUp;
    } while (state.again && !run.stopped);
    if (run.stopped) return;
    if (sent > 0)
      this.options.logger.info({ partition, entities: sent }, 'caught up: snapshots sent for the entities changed while delivery was down');
    const held = state.held ?? [];
    state.held = undefined;
    this.emit(held.filter((change) => this.accept(state, change)));
  }

  /** Sends a snapshot of every entity of the partition changed after its position; returns how many. */
  private async sendSnapshots(run: Run, partition: number, state: PartitionState): Promise<number> {
    let after: number | undefined = state.position;
    let sent = 0;
    let gap = false;
    while (after !== undefined) {
      const page: ChangedPage = await this.options.catchUp.changedAfter(partition, after, this.pageSize);
      if (run.stopped) break;
      if (!page.complete && !gap) {
        gap = true;
        this.options.logger.warn({ partition, after }, 'changes missed while delivery was down are no longer known; listeners start over');
        this.emit([{ kind: 'gap', partition, offset: after }]);
      }
      const snapshots = page.entities.map(({ id, entity, deleted, removed }): EntitySnapshot => {
        state.snapshots.set(id, page.position);
        return {
          kind: 'snapshot',
          partition,
          offset: page.position,
          entityId: id,
          entity,
          deleted,
          removed,
          timestamp: entity?.lastUpdated ?? this.now(),
        };
      });
      state.snapshotsUntil = Math.max(state.snapshotsUntil, page.position);
      sent += snapshots.length;
      this.emit(snapshots);
      // Changes from the first one held back on are delivered as they come: no need to read them.
      const firstHeld = state.held?.[0]?.offset;
      after = page.next !== undefined && (firstHeld === undefined || page.next < firstHeld) ? page.next : undefined;
    }
    return sent;
  }

  /** Runs `attempt` until it succeeds (undefined once the run stopped), backing off between failures. */
  private async retrying<T>(run: Run, what: string, attempt: () => Promise<T>): Promise<T | undefined> {
    let delayMs = this.retryMs;
    while (!run.stopped) {
      try {
        return await attempt();
      } catch (error) {
        if (run.stopped) break;
        this.options.logger.warn({ err: error, retryInMs: delayMs }, `could not ${what}; retrying`);
        await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
        delayMs = Math.min(MAX_RETRY_MS, delayMs * 2);
      }
    }
    return undefined;
  }

  private emit(records: readonly FeedRecord[]): void {
    if (records.length === 0) return;
    for (const listener of [...this.listeners]) {
      // Skip listeners removed by an earlier listener of this same delivery.
      if (!this.listeners.has(listener)) continue;
      try {
        listener(records);
      } catch (error) {
        this.options.logger.error({ err: error }, 'change feed listener failed');
      }
    }
  }
}
