import { encodeEvent, ErrorCode, FluxError, isFluxError, partitionFor, type FluxEvent, type LogPosition } from '@flux/domain';
import type { AppendRecord, EventLog } from '../ports/event-log.js';
import { TimeSlice } from '../runtime/time-slice.js';

export interface AppendObserver {
  eventsAccepted(count: number): void;
  eventsRejected(reason: 'unavailable', count: number): void;
  /** How long one append took until the log acknowledged it (or failed). */
  logAppended(seconds: number, outcome: 'ok' | 'error'): void;
}

/**
 * Puts accepted events on the log: partition by entity id with the shared partitioner, key by
 * entity id, one append for the lot. Everything that writes to the log goes through here.
 */
export class EventAppender {
  constructor(
    private readonly log: EventLog,
    private readonly observer?: AppendObserver,
  ) {}

  async append(events: readonly FluxEvent[]): Promise<readonly LogPosition[]> {
    const partitionCount = this.log.partitionCount;
    const records: AppendRecord[] = [];
    const slice = new TimeSlice();
    for (const event of events) {
      if (slice.due) await slice.yield();
      records.push({ partition: partitionFor(event.payload.entity_id, partitionCount), key: event.payload.entity_id, value: encodeEvent(event) });
    }
    const started = performance.now();
    try {
      const positions = await this.log.append(records);
      this.observer?.logAppended((performance.now() - started) / 1000, 'ok');
      this.observer?.eventsAccepted(events.length);
      return positions;
    } catch (error) {
      this.observer?.logAppended((performance.now() - started) / 1000, 'error');
      this.observer?.eventsRejected('unavailable', events.length);
      if (isFluxError(error)) throw error;
      throw new FluxError(ErrorCode.LogUnavailable, 'event log unavailable, retry later', { cause: error });
    }
  }
}
