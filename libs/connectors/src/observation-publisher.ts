import type { IngestService, StateReader } from '@flux/core';
import { entityIdProblem, type FluxEvent, type Properties } from '@flux/domain';
import type { Clock } from './clock.js';
import type { Connector, Observation } from './connector.js';
import { canonicalJson, observationEventId } from './event-ids.js';
import type { ConnectorLogger } from './logger.js';

export interface PublishOutcome {
  /** Events appended. */
  readonly published: number;
  /** Observations the state already reflected. */
  readonly unchanged: number;
  /** Observations dropped because their entity id is not valid. */
  readonly invalid: number;
}

export interface ObservationPublisherOptions {
  readonly ingest: Pick<IngestService, 'appendEvents'>;
  readonly state: Pick<StateReader, 'getEntity'>;
  readonly clock: Clock;
  readonly logger: ConnectorLogger;
  /** Events per log append. */
  readonly chunkSize?: number;
}

/** The full entity id of a connector entity: `<owner>/<id>` in public mode, `<id>` in internal mode. */
export const ownedEntityId = (owner: string, entityId: string): string => (owner === '' ? entityId : `${owner}/${entityId}`);

/**
 * Turns observations into events, publishing only what the state does not already show: an
 * observation whose properties all equal the entity's stored ones is skipped. With the
 * deterministic event ids this makes a re-poll after a crash (events appended, cursors not yet
 * saved) publish nothing twice.
 */
export class ObservationPublisher {
  private readonly chunkSize: number;

  constructor(private readonly options: ObservationPublisherOptions) {
    this.chunkSize = options.chunkSize ?? 500;
  }

  async publish(connector: Pick<Connector, 'name' | 'stream'>, owner: string, observations: readonly Observation[]): Promise<PublishOutcome> {
    // The last observation of an entity wins (pagination can shift an item onto two pages).
    const latest = new Map<string, Observation>();
    let invalid = 0;
    for (const observation of observations) {
      const id = ownedEntityId(owner, observation.entityId);
      const problem = entityIdProblem(id);
      if (problem !== undefined) {
        invalid++;
        this.options.logger.warn({ connector: connector.name, entityId: id, problem }, 'connector observation dropped: invalid entity id');
        continue;
      }
      latest.set(id, observation);
    }

    const events: FluxEvent[] = [];
    let unchanged = 0;
    for (const [entityId, observation] of latest) {
      const stored = await this.options.state.getEntity(entityId);
      if (stored !== undefined && reflects(stored.properties, observation.properties)) {
        unchanged++;
        continue;
      }
      events.push({
        eventId: observationEventId(connector.name, entityId, observation.properties),
        stream: connector.stream,
        source: `flux-connector/${connector.name}`,
        timestamp: timestampOf(observation.observedAt, this.options.clock),
        payload: { entity_id: entityId, properties: observation.properties },
      });
    }
    for (let start = 0; start < events.length; start += this.chunkSize) {
      await this.options.ingest.appendEvents(events.slice(start, start + this.chunkSize));
    }
    return { published: events.length, unchanged, invalid };
  }
}

/** True when applying `observed` to `stored` would change nothing (null removes a property). */
function reflects(stored: Properties, observed: Properties): boolean {
  for (const key of Object.keys(observed)) {
    const value = observed[key];
    const has = Object.hasOwn(stored, key);
    if (value === null) {
      if (has) return false;
    } else if (!has || canonicalJson(stored[key]) !== canonicalJson(value)) {
      return false;
    }
  }
  return true;
}

function timestampOf(observedAt: number | undefined, clock: Clock): number {
  return observedAt !== undefined && Number.isSafeInteger(observedAt) && observedAt > 0 ? observedAt : clock.now();
}
