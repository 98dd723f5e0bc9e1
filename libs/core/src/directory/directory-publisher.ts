import { buildDirectory, DIRECTORY_ENTITY_ID, newEventId, SYSTEM_NAMESPACE, type FluxEvent } from '@flux/domain';
import type { Logger } from 'pino';
import type { StateReader } from '../ports/state-store.js';
import type { EventAppender } from '../ingest/event-appender.js';

export interface DirectoryPublisherOptions {
  readonly reader: StateReader;
  readonly appender: Pick<EventAppender, 'append'>;
  readonly logger: Logger;
  /** Registered namespaces in public mode; undefined in internal mode. */
  readonly registeredNamespaces?: () => Promise<readonly string[]>;
  readonly intervalMs?: number;
  /**
   * Whether this process is the one that publishes now (default: always). With elastic reducers
   * every reducer runs a publisher and the owner of partition 0 publishes; another that takes
   * over publishes once at its next tick, whether or not the content changed.
   */
  readonly active?: () => boolean;
  readonly now?: () => number;
}

/**
 * Keeps `flux-core/directory` current. It is an ordinary entity fed through the log, so it
 * has history and reaches WebSocket subscribers like any other; an event is published only
 * when the content changed.
 */
export class DirectoryPublisher {
  private timer: NodeJS.Timeout | undefined;
  private lastContent: string | undefined;
  private running: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly intervalMs: number;

  constructor(private readonly options: DirectoryPublisherOptions) {
    this.now = options.now ?? Date.now;
    this.intervalMs = options.intervalMs ?? 3_000;
  }

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.running;
  }

  /** Publishes the directory if it changed; concurrent calls share one run. */
  refresh(): Promise<void> {
    this.running ??= this.publishIfChanged().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async publishIfChanged(): Promise<void> {
    if (this.options.active?.() === false) {
      this.lastContent = undefined;
      return;
    }
    try {
      const [counts, registered] = await Promise.all([this.options.reader.counts(), this.options.registeredNamespaces?.()]);
      const directory = buildDirectory(counts, this.now(), registered);
      const { updated_at: _ignored, ...content } = directory;
      const serialized = JSON.stringify(content);
      if (serialized === this.lastContent) return;
      const event: FluxEvent = {
        eventId: newEventId(),
        stream: 'flux.system',
        source: SYSTEM_NAMESPACE,
        timestamp: this.now(),
        payload: { entity_id: DIRECTORY_ENTITY_ID, properties: { ...directory } },
      };
      // A slow append must not hold back the next refresh: past one interval the attempt is
      // abandoned (its late outcome ignored) and the next tick publishes the then-current content.
      const appended = this.options.appender.append([event]);
      appended.catch(() => undefined);
      await abandonAfter(appended, this.intervalMs);
      this.lastContent = serialized;
    } catch (error) {
      this.options.logger.warn({ err: error }, 'directory refresh failed; retrying on the next tick');
    }
  }
}

function abandonAfter<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`directory append took longer than ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
