import type { ChangeRecord } from '@flux/domain';
import type { ChangeFeed, ChangeListener } from '../ports/change-feed.js';
import type { Unsubscribe } from '../ports/control-store.js';
import { ListenerSet, type ListenerErrorHandler } from './listener-set.js';

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
  private readonly listeners: ListenerSet<readonly ChangeRecord[]>;

  constructor(options: MemoryChangeFeedOptions = {}) {
    this.listeners = new ListenerSet(options.onListenerError);
  }

  /** Listeners currently subscribed. */
  get listenerCount(): number {
    return this.listeners.size;
  }

  publish(changes: readonly ChangeRecord[]): void {
    if (changes.length === 0) return;
    this.listeners.emit(changes);
  }

  subscribe(listener: ChangeListener): Unsubscribe {
    return this.listeners.add(listener);
  }
}
