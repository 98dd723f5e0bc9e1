import type { MetricsUpdateMessage, ServerMessage, WatchMessage } from '@flux/client';
import { flux } from './flux';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'failed';

/** What a view hears from the feed: the server's messages, and `resync` after a reconnection. */
export type FeedEvent = ServerMessage | { type: 'resync' };

/** Samples kept for the charts: 3 minutes at the server's default period of 2 s. */
export const METRICS_SAMPLES = 90;

/**
 * The page's one WebSocket (through `flux.watch()`, which reconnects with backoff), shared by
 * every view: a view subscribes while it is shown. Connection state and the recent
 * `metrics_update` samples are kept here so that they survive navigation.
 */
class LiveFeed {
  private readonly listeners = new Set<(event: FeedEvent) => void>();
  private readonly watchers = new Set<() => void>();
  private started = false;
  state: ConnectionState = 'connecting';
  metrics: readonly MetricsUpdateMessage[] = [];

  /** Calls `listener` with every message until the returned function is called. */
  listen(listener: (event: FeedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `watcher` whenever `state` or `metrics` change. */
  watch(watcher: () => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      for await (const message of flux.watch()) this.receive(message);
    } catch (error) {
      // The watch reconnects by itself; it ends only when it cannot work at all.
      console.error('Flux live updates stopped', error);
      this.state = 'failed';
      this.changed();
    }
  }

  private receive(message: WatchMessage): void {
    if (message.type === 'connection') {
      this.state = message.state;
      this.changed();
      // Changes made while the socket was down were not delivered: views read again.
      if (message.state === 'open' && message.reconnected === true) this.emit({ type: 'resync' });
      return;
    }
    if (message.type === 'metrics_update') {
      this.metrics = [...this.metrics.slice(-(METRICS_SAMPLES - 1)), message];
      this.changed();
    }
    this.emit(message);
  }

  private emit(event: FeedEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private changed(): void {
    for (const watcher of this.watchers) watcher();
  }
}

export const liveFeed = new LiveFeed();
