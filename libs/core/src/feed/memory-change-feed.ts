import type { ChangeRecord, CommitProgress } from '@flux/domain';
import type { ChangeFeed, ChangeListener } from '../ports/change-feed.js';
import type { Unsubscribe } from '../ports/control-store.js';
import { ListenerSet, type ListenerErrorHandler } from './listener-set.js';

interface Published {
  readonly changes: readonly ChangeRecord[];
  readonly progress: CommitProgress | undefined;
}

export interface MemoryChangeFeedOptions {
  /** Where exceptions thrown by listeners go (default: a process warning). */
  readonly onListenerError?: ListenerErrorHandler;
}

/**
 * In-process fan-out of applied changes: publish calls every listener synchronously, in
 * subscription order, so batches arrive in publish (commit) order. A throwing listener is
 * reported and skipped; the others and later batches are unaffected.
 */
export class MemoryChangeFeed implements ChangeFeed {
  private readonly listeners: ListenerSet<Published>;

  constructor(options: MemoryChangeFeedOptions = {}) {
    this.listeners = new ListenerSet(options.onListenerError);
  }

  /** Listeners currently subscribed. */
  get listenerCount(): number {
    return this.listeners.size;
  }

  publish(changes: readonly ChangeRecord[], progress?: CommitProgress): void {
    if (changes.length === 0 && progress === undefined) return;
    this.listeners.emit({ changes, progress });
  }

  subscribe(listener: ChangeListener): Unsubscribe {
    return this.listeners.add(({ changes, progress }) => (progress === undefined ? listener(changes) : listener(changes, progress)));
  }
}
