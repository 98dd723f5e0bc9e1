import type { MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import { ClosingOrder, composeReducerRole, type Settings } from '@flux/core';
import { LmdbEventLog } from './lmdb-event-log.js';
import { LmdbStateStore } from './lmdb-state-store.js';
import { LogTruncation } from './log-truncation.js';
import { forwardingObserver, type FromMaterialiser, type ToMaterialiser } from './materialiser-messages.js';

export interface MaterialiserWorkerOptions {
  /** The channel to the server thread (the worker's `parentPort`). */
  readonly port: MessagePort;
  readonly settings: Settings;
  /** The log's partition count as the server thread opened it. */
  readonly partitionCount: number;
  readonly logger: Logger;
}

/**
 * The materialiser thread of the embedded server: the reducers of every partition, their
 * commits to the state store, and the log truncation that follows them. It opens the same
 * LMDB environments as the server thread (lmdb-js shares one environment between the threads
 * of a process), tails the log the server appends to, and sends each commit's changes back
 * for the server's change feed. See MaterialiserThread for the other side.
 */
export async function runMaterialiser(options: MaterialiserWorkerOptions): Promise<void> {
  const { port, settings, partitionCount, logger } = options;
  // Messages of one turn travel together: at a thousand single events a second, a message per
  // commit and per figure cost a thread wake-up each.
  let outbox: FromMaterialiser[] = [];
  const flush = (): void => {
    if (outbox.length === 0) return;
    port.postMessage(outbox);
    outbox = [];
  };
  const post = (message: FromMaterialiser): void => {
    if (outbox.length === 0) setImmediate(flush);
    outbox.push(message);
  };
  const closing = new ClosingOrder(logger);
  const log = LmdbEventLog.openIn(settings.dataDir, { partitionCount });
  const state = LmdbStateStore.openIn(settings.dataDir, { changeRetentionOffsets: settings.changeRetentionOffsets });
  // The log first: its close waits for the subscriptions, whose handlers write to the state.
  closing.add('stores', () => log.close().then(() => state.close()));
  const truncation = new LogTruncation({ log, state, logger });
  closing.add('log truncation', () => truncation.stop());

  const partitions = Array.from({ length: partitionCount }, (_, partition) => partition);
  const observer = forwardingObserver((event) => post({ type: 'observed', event }));
  const reducing = composeReducerRole(
    {
      settings,
      partitions,
      log,
      store: state,
      feed: { publish: (changes, progress) => post({ type: 'published', changes, progress }) },
      metrics: { reducerObserver: () => observer },
      logger,
      onCommitted: (partition, lastOffset) => truncation.applied(partition, lastOffset),
    },
    closing,
  );

  let stopping: Promise<void> | undefined;
  port.on('message', (message: ToMaterialiser) => {
    if (message.type === 'appended') {
      log.appendedElsewhere(message.partitions);
    } else {
      stopping ??= closing.close().then(() => {
        post({ type: 'stopped' });
        flush();
        port.close();
      });
    }
  });
  reducing.failed.catch((error: unknown) => {
    if (stopping !== undefined) return;
    const failure = error instanceof Error ? error : new Error(String(error));
    logger.error({ err: failure }, 'materialisation stopped');
    post({ type: 'failed', message: failure.message, stack: failure.stack });
  });
  try {
    await reducing.start();
  } catch {
    return; // reported through `failed`
  }
  post({ type: 'recovered' });
}
