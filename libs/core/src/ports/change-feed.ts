import type { ChangeRecord, CommitProgress, FeedRecord } from '@flux/domain';
import type { Unsubscribe } from './control-store.js';

/**
 * Hears each commit: its changes (possibly none) and, from reducers, its progress (how far the
 * partition is applied and what became of each event), which writers waiting for their events
 * follow. Listeners that only show changes may ignore `progress`.
 */
export type ChangeListener = (changes: readonly ChangeRecord[], progress?: CommitProgress) => void;

/** Where a reducer hands the changes of each commit, once committed. */
export interface ChangePublisher {
  /** Listeners hear every call that carries changes or progress, in call order. */
  publish(changes: readonly ChangeRecord[], progress?: CommitProgress): void;
}

/**
 * Applied changes as watchers (WebSocket hubs, activity) receive them: in commit order per
 * partition; listeners must not block.
 */
export interface ChangeSource {
  subscribe(listener: ChangeListener): Unsubscribe;
}

/** Both sides in one process: what the reducer publishes, the hub receives (MemoryChangeFeed). */
export interface ChangeFeed extends ChangePublisher, ChangeSource {}

/**
 * A change feed whose delivery can break off, such as a stream from a remote shard: changes of
 * a partition applied while its delivery was down are never delivered. `onResume` tells when
 * delivery of some partitions (re)starts, before the changes that follow.
 */
export interface InterruptibleChangeSource extends ChangeSource {
  onResume(listener: (partitions: readonly number[]) => void): Unsubscribe;
}

export type FeedListener = (records: readonly FeedRecord[]) => void;

/**
 * What WebSocket subscribers are fed: applied changes, in commit order per partition, and
 * snapshots in place of changes that could not be delivered (see CatchingUpFeed). Every
 * ChangeSource that never misses anything (an in-process feed) is one.
 */
export interface SubscriberFeed {
  subscribe(listener: FeedListener): Unsubscribe;
}
