import type { Logger } from 'pino';
import { EventAppender, type ClusterProcessSettings } from '@flux/core';
import type { FluxEvent, LogPosition } from '@flux/domain';
import { clusterLogOptions, KafkaEventLog } from '@flux/kafka';

/**
 * Where a query gateway appends the tombstones of a deleted namespace's entities: a Kafka
 * producer opened on first use, since reads never need one. A failed open is retried by the
 * next deletion.
 */
export class LazyTombstoneLog {
  private opening: Promise<{ log: KafkaEventLog; appender: EventAppender }> | undefined;

  constructor(
    private readonly settings: ClusterProcessSettings,
    private readonly logger: Logger,
  ) {}

  async appendEvents(events: readonly FluxEvent[]): Promise<readonly LogPosition[]> {
    return (await this.open()).appender.append(events);
  }

  async close(): Promise<void> {
    const opened = await this.opening?.catch(() => undefined);
    await opened?.log.close();
  }

  private open(): Promise<{ log: KafkaEventLog; appender: EventAppender }> {
    this.opening ??= KafkaEventLog.open({
      ...clusterLogOptions(this.settings),
      clientId: 'flux-query-gateway',
      logger: this.logger.child({ component: 'kafka' }),
    }).then(
      (log) => ({ log, appender: new EventAppender(log) }),
      (error: unknown) => {
        this.opening = undefined;
        throw error;
      },
    );
    return this.opening;
  }
}
