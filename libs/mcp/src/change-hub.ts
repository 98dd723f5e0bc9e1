import type { Logger } from 'pino';
import type { Watch, WatchMessage } from '@flux/client';

/** One change of one entity, as the watch reported it. */
export interface EntityChange {
  readonly entityId: string;
  /** The whole entity was deleted (no property then). */
  readonly deleted: boolean;
  /** The property an update set (`value` null: removed). */
  readonly property?: string;
  readonly value?: unknown;
  /** Position token of the change in the log. */
  readonly position?: string;
}

/** Which changes a listener wants: one entity, or every entity whose id starts with a prefix. */
export type ChangeFilter = { readonly entityId: string } | { readonly prefix: string };

export interface ChangeListener {
  readonly filter: ChangeFilter;
  onChange(change: EntityChange): void;
  /** The watch reconnected: changes made while it was down were not seen. */
  onGap?(): void;
}

export interface ChangeHubOptions {
  /** Opens a watch of every entity of the deployment. */
  readonly openWatch: () => Watch;
  readonly logger?: Logger;
  /** How long the watch stays open after its last listener left (the next wait reuses it). */
  readonly lingerMs?: number;
}

const DEFAULT_LINGER_MS = 30_000;

export const matches = (filter: ChangeFilter, entityId: string): boolean =>
  'entityId' in filter ? filter.entityId === entityId : entityId.startsWith(filter.prefix);

function toChange(message: WatchMessage): EntityChange | undefined {
  const position = message.type === 'state_update' || message.type === 'entity_deleted' ? message.position : undefined;
  const at = position === undefined ? {} : { position };
  if (message.type === 'state_update')
    return { entityId: message.entity_id, deleted: false, property: message.property, value: message.value, ...at };
  if (message.type === 'entity_deleted') return { entityId: message.entity_id, deleted: true, ...at };
  return undefined;
}

/**
 * One watch of Flux shared by every waiter and resource subscription of an MCP server, opened
 * while someone listens. Why one watch of everything rather than one per waiter: prefix waits
 * need every change anyway, reads (and so the WebSocket) need no token, and one connection per
 * server keeps an MCP endpoint with many sessions from holding hundreds of WebSockets against
 * Flux's per-address limit.
 */
export class ChangeHub {
  private readonly listeners = new Set<ChangeListener>();
  private watch: { stream: Watch; opened: Promise<void>; isOpen: boolean } | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: ChangeHubOptions) {}

  /**
   * Adds a listener and resolves once the watch is open, so that every change committed after
   * that is reported. Resolves with the function that removes it; rejects if `signal` aborts first.
   */
  async listen(listener: ChangeListener, signal?: AbortSignal): Promise<() => void> {
    if (this.closed) throw new Error('the change stream is closed');
    clearTimeout(this.lingerTimer);
    this.listeners.add(listener);
    const remove = (): void => this.remove(listener);
    const watch = this.ensureWatch();
    try {
      await abortable(watch.opened, signal);
    } catch (error) {
      remove();
      throw error;
    }
    return remove;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.lingerTimer);
    this.listeners.clear();
    this.stop();
  }

  private remove(listener: ChangeListener): void {
    this.listeners.delete(listener);
    if (this.listeners.size > 0 || this.watch === undefined) return;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = setTimeout(() => {
      if (this.listeners.size === 0) this.stop();
    }, this.options.lingerMs ?? DEFAULT_LINGER_MS);
    this.lingerTimer.unref();
  }

  private stop(): void {
    const current = this.watch;
    this.watch = undefined;
    current?.stream.close();
  }

  private ensureWatch(): { opened: Promise<void> } {
    if (this.watch !== undefined) return this.watch;
    const stream = this.options.openWatch();
    let markOpen!: () => void;
    let fail!: (error: unknown) => void;
    const opened = new Promise<void>((resolve, reject) => {
      markOpen = resolve;
      fail = reject;
    });
    // A listener that gave up waiting must not leave an unhandled rejection behind.
    opened.catch(() => undefined);
    const watch = { stream, opened, isOpen: false };
    this.watch = watch;
    void this.pump(watch, markOpen).then(
      () => fail(new Error('the change stream ended')),
      (error: unknown) => fail(error),
    );
    return watch;
  }

  private async pump(watch: { stream: Watch; isOpen: boolean }, markOpen: () => void): Promise<void> {
    try {
      for await (const message of watch.stream) {
        if (message.type === 'connection') {
          if (message.state !== 'open') continue;
          if (watch.isOpen) for (const listener of [...this.listeners]) listener.onGap?.();
          watch.isOpen = true;
          markOpen();
          continue;
        }
        const change = toChange(message);
        if (change === undefined) continue;
        for (const listener of [...this.listeners]) {
          if (matches(listener.filter, change.entityId)) listener.onChange(change);
        }
      }
    } finally {
      // The watch ended on its own (closed by stop() or failed): the next listener opens another.
      if (this.watch === watch) {
        this.watch = undefined;
        this.options.logger?.warn('the change stream of the MCP server ended; it reopens with the next listener');
        for (const listener of [...this.listeners]) listener.onGap?.();
      }
    }
  }
}

/** `promise`, or a rejection as soon as `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
