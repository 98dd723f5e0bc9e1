import { buildDirectory, DIRECTORY_ENTITY_ID, SYSTEM_NAMESPACE, type FluxEvent } from '@flux/domain';
import { v7 as uuidv7 } from 'uuid';
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

  constructor(private readonly options: DirectoryPublisherOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.intervalMs ?? 5_000);
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
    try {
      const [counts, registered] = await Promise.all([this.options.reader.counts(), this.options.registeredNamespaces?.()]);
      const directory = buildDirectory(counts, this.now(), registered);
      const { updated_at: _ignored, ...content } = directory;
      const serialized = JSON.stringify(content);
      if (serialized === this.lastContent) return;
      const event: FluxEvent = {
        eventId: uuidv7(),
        stream: 'flux.system',
        source: SYSTEM_NAMESPACE,
        timestamp: this.now(),
        payload: { entity_id: DIRECTORY_ENTITY_ID, properties: { ...directory } },
      };
      await this.options.appender.append([event]);
      this.lastContent = serialized;
    } catch (error) {
      this.options.logger.warn({ err: error }, 'directory refresh failed; retrying on the next tick');
    }
  }
}
