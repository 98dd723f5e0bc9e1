import { mkdirSync } from 'node:fs';
import { LmdbControlStore } from './lmdb-control-store.js';
import { LmdbEventLog } from './lmdb-event-log.js';
import { LmdbStateStore } from './lmdb-state-store.js';
import { MemoryChangeFeed, type ListenerErrorHandler } from '@flux/core';
import { MemoryRateLimiter } from './memory-rate-limiter.js';

export interface EmbeddedOptions {
  /** Directory holding the log, state and control environments (created when missing). */
  readonly dataDir: string;
  /**
   * Partitions of a new log. An existing log keeps the count it was created with; read the
   * effective count from `log.partitionCount`.
   */
  readonly partitionCount: number;
  /** Log offsets of each partition whose changes subscribers can resume from (see ChangeReplay). */
  readonly changeRetentionOffsets?: number;
  /** Where exceptions thrown by change-feed and config listeners go (default: a process warning). */
  readonly onListenerError?: ListenerErrorHandler;
}

/** Every port, backed by embedded storage: what `npm start` runs on with nothing installed. */
export interface Embedded {
  readonly log: LmdbEventLog;
  readonly state: LmdbStateStore;
  readonly control: LmdbControlStore;
  readonly feed: MemoryChangeFeed;
  readonly rateLimiter: MemoryRateLimiter;
  /** Stops log subscriptions, then closes every environment. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens the embedded adapters on one data directory: `<dataDir>/log`, `<dataDir>/state` and
 * `<dataDir>/control` are separate LMDB environments, so the log's fsyncs never wait behind
 * state writes and each can be inspected or removed on its own.
 */
export async function openEmbedded(options: EmbeddedOptions): Promise<Embedded> {
  mkdirSync(options.dataDir, { recursive: true });
  const listenerOptions = options.onListenerError === undefined ? {} : { onListenerError: options.onListenerError };
  const opened: { close(): Promise<void> }[] = [];
  try {
    const log = LmdbEventLog.openIn(options.dataDir, { partitionCount: options.partitionCount });
    opened.push(log);
    const state = LmdbStateStore.openIn(
      options.dataDir,
      options.changeRetentionOffsets === undefined ? {} : { changeRetentionOffsets: options.changeRetentionOffsets },
    );
    opened.push(state);
    const control = LmdbControlStore.openIn(options.dataDir, listenerOptions);
    opened.push(control);

    let closing: Promise<void> | undefined;
    return {
      log,
      state,
      control,
      feed: new MemoryChangeFeed(listenerOptions),
      rateLimiter: new MemoryRateLimiter(),
      close() {
        // The log first: its close waits for subscription handlers, which write to the state.
        closing ??= log.close().then(async () => {
          await Promise.all([state.close(), control.close()]);
        });
        return closing;
      },
    };
  } catch (error) {
    await Promise.allSettled(opened.map((adapter) => adapter.close()));
    throw error;
  }
}
