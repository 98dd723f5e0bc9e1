import type { ChangeRecord, FeedRecord } from '@flux/domain';
import type { Unsubscribe } from './control-store.js';

export type ChangeListener = (changes: readonly ChangeRecord[]) => void;

/**
 * Applied changes, fanned out to whoever watches (WebSocket hubs). Delivery is in commit
 * order per partition; listeners must not block.
 */
export interface ChangeFeed {
  publish(changes: readonly ChangeRecord[]): void;
  subscribe(listener: ChangeListener): Unsubscribe;
}

/**
 * A change feed whose delivery can break off, such as a stream from a remote shard: changes of
 * a partition applied while its delivery was down are never delivered. `onResume` tells when
 * delivery of some partitions (re)starts, before the changes that follow.
 */
export interface InterruptibleChangeFeed extends ChangeFeed {
  onResume(listener: (partitions: readonly number[]) => void): Unsubscribe;
}

export type FeedListener = (records: readonly FeedRecord[]) => void;

/**
 * What WebSocket subscribers are fed: applied changes, in commit order per partition, and
 * snapshots in place of changes that could not be delivered (see CatchingUpFeed). Every
 * ChangeFeed is one that never misses anything.
 */
export interface SubscriberFeed {
  subscribe(listener: FeedListener): Unsubscribe;
}
