import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { consumerLag, type ChangePublisher, type PartitionLag, type ReducerObserver, type ReducerStatus } from '@flux/core';
import type { LmdbEventLog } from './lmdb-event-log.js';
import type { LmdbStateStore } from './lmdb-state-store.js';
import { replayObserved, type FromMaterialiser, type ToMaterialiser } from './materialiser-messages.js';

export interface MaterialiserThreadOptions {
  /**
   * The module the worker thread runs (a file URL); it must call runMaterialiser with its
   * `parentPort`. A TypeScript entry (`npm start`, tests) is loaded through tsx.
   */
  readonly entry: URL;
  readonly workerData?: unknown;
  /** The server thread's log: its appends are announced to the materialiser. */
  readonly log: LmdbEventLog;
  /** The server thread's state store: its reads must see each commit announced. */
  readonly state: LmdbStateStore;
  /** Where the materialiser's commits are published on this thread (waits, WebSocket hubs). */
  readonly feed: ChangePublisher;
  readonly logger: Logger;
}

/**
 * The server thread's side of the embedded materialiser (see runMaterialiser): the reducers
 * and their state commits run on a worker thread, so that a large commit never holds the
 * event loop that answers requests, and the second core does that work. The server thread
 * keeps appending to the log and reading the state; this forwards its appends to the worker,
 * and the worker's commits to the change feed and the metrics.
 */
export class MaterialiserThread implements ReducerStatus {
  /** Rejects once the materialiser fails or its thread ends unasked: state no longer follows the log. */
  readonly failed: Promise<never>;
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private readonly recovery: Promise<void>;
  private readonly appliedOffsets = new Map<number, number>();
  private readonly stopAnnouncing: () => void;
  private observer: ReducerObserver | undefined;
  private recoveredFlag = false;
  private running = true;
  private stopping: Promise<void> | undefined;
  private fail: (error: Error) => void = () => {};
  private recover: () => void = () => {};

  constructor(private readonly options: MaterialiserThreadOptions) {
    this.failed = new Promise<never>((_, reject) => {
      this.fail = (error) => {
        this.running = false;
        reject(error);
      };
    });
    this.failed.catch(() => undefined);
    this.recovery = new Promise<void>((resolve, reject) => {
      this.recover = resolve;
      this.failed.catch(reject);
    });
    this.recovery.catch(() => undefined);

    this.worker = startWorker(options.entry, options.workerData);
    this.worker.on('message', (messages: readonly FromMaterialiser[]) => {
      // Every commit these messages announce is done: reads from here on must see them.
      this.options.state.committedElsewhere();
      for (const message of messages) this.receive(message);
    });
    // An exception the worker did not catch: it ends the thread, and `exit` follows.
    this.worker.on('error', (error) => this.fail(new Error('the materialiser thread failed', { cause: error })));
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        if (this.stopping === undefined) this.fail(new Error(`the materialiser thread exited with code ${code}`));
        resolve();
      });
    });
    this.stopAnnouncing = options.log.onAppend((partitions) => this.send({ type: 'appended', partitions }));
  }

  /** True once the reducers caught up with what the log held when they started. */
  get recovered(): boolean {
    return this.recoveredFlag;
  }

  /** Every partition while the materialiser runs (it claims them all at start), none after it failed. */
  get partitionsOwned(): number {
    return this.running ? this.options.log.partitionCount : 0;
  }

  async lag(): Promise<readonly PartitionLag[]> {
    if (!this.running) return [];
    const { log, state } = this.options;
    return Promise.all(
      Array.from({ length: log.partitionCount }, async (_, partition) => {
        // Read before the end offset, so a record applied meanwhile cannot make it negative.
        const applied = this.appliedOffsets.get(partition) ?? (await state.position(partition));
        return { partition, records: consumerLag(await log.endOffset(partition), applied) };
      }),
    );
  }

  /** Where the materialiser's figures go (the process's metrics). */
  observe(observer: ReducerObserver): void {
    this.observer = observer;
  }

  /** Resolves once the reducers recovered; rejects if the materialiser fails first. */
  start(): Promise<void> {
    return this.recovery;
  }

  /** Lets the reducers finish their batch in hand, closes the worker's stores and ends the thread. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.running = false;
      this.stopAnnouncing();
      this.send({ type: 'stop' });
      await this.exited;
    })();
    return this.stopping;
  }

  private send(message: ToMaterialiser): void {
    this.worker.postMessage(message);
  }

  private receive(message: FromMaterialiser): void {
    switch (message.type) {
      case 'published': {
        const { changes, progress } = message;
        if (progress !== undefined) this.appliedOffsets.set(progress.partition, progress.lastOffset);
        this.options.feed.publish(changes, progress);
        return;
      }
      case 'observed':
        if (this.observer !== undefined) replayObserved(this.observer, message.event);
        return;
      case 'recovered':
        this.recoveredFlag = true;
        this.recover();
        return;
      case 'failed': {
        const error = new Error(message.message);
        if (message.stack !== undefined) error.stack = message.stack;
        this.fail(error);
        return;
      }
      case 'stopped':
        // Its stores are closed and nothing is left to apply: a timer or socket a library left
        // open must not keep the thread, and the shutdown, waiting.
        this.options.logger.debug('materialiser thread stopped');
        void this.worker.terminate();
        return;
    }
  }
}

/** Imported by the worker only for a `.ts` entry: never by a build run from dist/. */
const TYPESCRIPT_LOADER = 'tsx/esm/api';

/**
 * A worker on `entry`. A worker does not get the loader hooks that `node --import tsx`
 * registered on the main thread (Node 20 runs hooks per thread and tsx registers them only
 * where it was imported), so a `.ts` entry is imported after registering tsx in the worker.
 */
function startWorker(entry: URL, workerData: unknown): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  const bootstrap = `import(${JSON.stringify(TYPESCRIPT_LOADER)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
