import type { ChangeRecord, FeedRecord } from '@flux/domain';
import type { Unsubscribe } from './control-store.js';

export type ChangeListener = (changes: readonly ChangeRecord[]) => void;

/** Where a reducer hands the changes of each commit, once committed. */
export interface ChangePublisher {
  publish(changes: readonly ChangeRecord[]): void;
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
