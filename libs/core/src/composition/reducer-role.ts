import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import { DirectoryPublisher, type DirectoryPublisherOptions } from '../directory/directory-publisher.js';
import type { EventAppender } from '../ingest/event-appender.js';
import type { FluxMetrics } from '../observability/flux-metrics.js';
import type { ChangePublisher } from '../ports/change-feed.js';
import type { EventLog } from '../ports/event-log.js';
import type { PartitionStateWriter, StateReader } from '../ports/state-store.js';
import type { ReducerMember, ReducerRegistry } from '../ports/reducer-registry.js';
import { ElasticReducers } from '../reducer/elastic-reducers.js';
import type { PartitionReducerOptions } from '../reducer/partition-reducer.js';
import { ReducerGroup } from '../reducer/reducer-group.js';
import type { ClosingOrder } from './closing-order.js';

/** Partitions assigned at run time among the live reducers (see ElasticReducers). */
export interface ElasticAssignment {
  readonly registry: ReducerRegistry;
  readonly member: ReducerMember;
  readonly partitionCount: number;
  readonly leaseMs: number;
}

/** A fixed set of partitions (the embedded server: all; a static shard: its own), or elastic assignment. */
export type ReducerRoleOptions = CommonReducerRoleOptions & ({ readonly partitions: readonly number[] } | { readonly elastic: ElasticAssignment });

interface CommonReducerRoleOptions {
  readonly settings: Settings;
  readonly log: EventLog;
  readonly store: PartitionStateWriter & StateReader;
  readonly feed: ChangePublisher;
  /** Where the reducers' figures go (a process's FluxMetrics, or a thread that forwards them). */
  readonly metrics: Pick<FluxMetrics, 'reducerObserver'>;
  readonly logger: Logger;
  /** See PartitionReducerOptions; only where another process may claim the same partitions. */
  readonly claimCheckIntervalMs?: number;
  readonly onCommitted?: (partition: number, lastOffset: number) => void;
  /**
   * Set on the process that keeps `flux-core/directory` current (the embedded server, reducer
   * shard 0, or with elastic assignment every reducer: the owner of partition 0 publishes),
   * with the registered namespaces in public mode.
   */
  readonly directory?: { readonly appender: Pick<EventAppender, 'append'>; readonly registeredNamespaces?: () => Promise<readonly string[]> };
}

/** Materialisation: the reducers of some partitions, and the directory entity. */
export interface ReducerRole {
  readonly reducers: ReducerGroup | ElasticReducers;
  /**
   * Rejects once a reducer of a fixed set stops on its own (fenced, or its store failed): its
   * partitions apply nothing more, so the process should exit and be restarted (crash-only).
   * Elastic reducers let go of such a partition instead, and it is claimed again.
   */
  readonly failed: Promise<never>;
  /** Starts the reducers, then the directory; resolves once they caught up with the log (rejects, and `failed` too, when they cannot). */
  start(): Promise<void>;
}

export function composeReducerRole(options: ReducerRoleOptions, closing: ClosingOrder): ReducerRole {
  const { settings, log, store, feed, metrics, logger, directory } = options;
  let fail: (error: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  const shared = {
    log,
    store,
    feed,
    logger: logger.child({ component: 'reducer' }),
    entityBound: settings.entityBound,
    ttlSweep: settings.ttlSweep,
    onRefused: (reason) => observer.refused(reason),
    onExpired: (count) => observer.expired(count),
    onFenced: (partition, detectedBy) => observer.fenced(partition, detectedBy),
    onCommitted: (partition, lastOffset, events, commit) => {
      options.onCommitted?.(partition, lastOffset);
      observer.committed(partition, events, commit);
    },
    ...(options.claimCheckIntervalMs === undefined ? {} : { claimCheckIntervalMs: options.claimCheckIntervalMs }),
  } satisfies Omit<PartitionReducerOptions, 'partition'>;
  const reducers =
    'elastic' in options
      ? new ElasticReducers({ ...shared, ...options.elastic, onHandover: (_partition, direction) => observer.handover(direction) })
      : new ReducerGroup({
          ...shared,
          partitions: options.partitions,
          onFailure: (partition, error) => fail(new Error(`reducer of partition ${partition} failed`, { cause: error })),
        });
  // The callbacks above run only once the reducers started, so after this line.
  const observer = metrics.reducerObserver(reducers);
  closing.add('reducers', () => reducers.stop());
  const publisher =
    directory === undefined
      ? undefined
      : composeDirectoryPublisher({
          ...directory,
          reader: store,
          logger,
          ...(reducers instanceof ElasticReducers ? { active: () => reducers.owns(0) } : {}),
        });
  if (publisher !== undefined) closing.add('directory', () => publisher.stop());
  return {
    reducers,
    failed,
    async start() {
      try {
        await reducers.start();
      } catch (error) {
        fail(new Error('recovery failed', { cause: error }));
        throw error;
      }
      // The directory is computed from the state, so only once the state caught up.
      publisher?.start();
    },
  };
}

/**
 * The publisher of `flux-core/directory`, started by whoever owns the reducers once they
 * recovered: a reducer process, or the embedded server, whose reducers run on another thread.
 */
export function composeDirectoryPublisher(options: DirectoryPublisherOptions): DirectoryPublisher {
  const { logger, ...rest } = options;
  return new DirectoryPublisher({ ...rest, logger: logger.child({ component: 'directory' }) });
}
