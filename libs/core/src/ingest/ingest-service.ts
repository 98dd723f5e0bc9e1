import { TimeSlice } from '../runtime/time-slice.js';
import {
  ErrorCode,
  exceededByEvent,
  FluxError,
  isConditional,
  isFluxError,
  isTombstone,
  parseEnvelope,
  positionFields,
  type EntityBound,
  type FluxEvent,
  type LogPosition,
  type PositionFields,
} from '@flux/domain';
import type { Logger } from 'pino';
import type { Authorizer, Principal } from '../auth/authorizer.js';
import type { EventLog } from '../ports/event-log.js';
import { EventAppender, type AppendObserver } from './event-appender.js';
import { rateLimitStatus, type RateLimiter, type RateLimitStatus } from '../ports/rate-limiter.js';
import type { RuntimeConfigService } from '../runtime/runtime-config-service.js';
import type { AppliedPositions, WaitReservation } from '../positions/applied-positions.js';
import { decidedResult, failedElement, type BatchItemFailure } from './wait-outcome.js';

/** An appended event: its id and stream, where it sits in the log, and (when waited for) its entity's version then. */
export interface PublishResult extends PositionFields {
  readonly eventId: string;
  readonly stream: string;
  /** The entity's version once the event was applied (0: it deleted the entity); set when the write waited. */
  readonly version?: number;
}

export type BatchItemResult = PublishResult | BatchItemFailure;

/** How a write answers: once appended (the default), or once applied. */
export interface WaitRequest {
  /** Answer once the events are applied, with the entities' versions. */
  readonly applied: boolean;
  /** Bound of the wait (the service's default when absent). */
  readonly timeoutMs?: number;
}

export type IngestRejection = 'invalid' | 'forbidden' | 'entity_limit' | 'rate_limited' | 'unavailable';

export interface IngestObserver extends AppendObserver {
  eventsRejected(reason: IngestRejection, count: number): void;
}

export interface IngestServiceOptions {
  readonly log: EventLog;
  readonly authorizer: Authorizer;
  readonly rateLimiter: RateLimiter;
  readonly runtimeConfig: RuntimeConfigService;
  readonly observer?: IngestObserver;
  /** An event whose properties alone exceed it is refused (413); unbounded when absent. */
  readonly entityBound?: EntityBound;
  /** Where an unexpected failure to validate one batch element is reported. */
  readonly logger?: Pick<Logger, 'error'>;
  /** What the reducers have applied: needed to answer writes that wait (wait=applied). */
  readonly applied?: AppliedPositions;
  /** Default bound of such a wait (5 s when absent). */
  readonly waitTimeoutMs?: number;
}

export const DEFAULT_WAIT_TIMEOUT_MS = 5_000;

export const RATE_LIMIT_MESSAGE = 'rate limit exceeded';

function rejectionReason(error: FluxError): IngestRejection {
  if (error.code === ErrorCode.Validation) return 'invalid';
  return error.code === ErrorCode.PayloadTooLarge ? 'entity_limit' : 'forbidden';
}

/**
 * The write path: validate, authorise, rate-limit, partition, append. It answers only after
 * the log acknowledged the append; state follows asynchronously through the reducers.
 */
export class IngestService {
  /** Where accepted events go; also used for the events Flux writes itself. */
  readonly appender: EventAppender;
  private readonly authorizer: Authorizer;
  private readonly rateLimiter: RateLimiter;
  private readonly runtimeConfig: RuntimeConfigService;
  private readonly observer: IngestObserver | undefined;
  private readonly logger: Pick<Logger, 'error'> | undefined;
  private readonly entityBound: EntityBound | undefined;
  private readonly applied: AppliedPositions | undefined;
  private readonly waitTimeoutMs: number;

  constructor(options: IngestServiceOptions) {
    this.appender = new EventAppender(options.log, options.observer);
    this.authorizer = options.authorizer;
    this.rateLimiter = options.rateLimiter;
    this.runtimeConfig = options.runtimeConfig;
    this.observer = options.observer;
    this.logger = options.logger;
    this.entityBound = options.entityBound;
    this.applied = options.applied;
    this.waitTimeoutMs = options.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  }

  /** `onRateLimit` hears the caller's bucket after the take, when rate limiting applies (for response headers). */
  async publish(input: unknown, principal: Principal, onRateLimit?: (status: RateLimitStatus) => void, wait?: WaitRequest): Promise<PublishResult> {
    let event: FluxEvent;
    try {
      event = this.admit(input, principal);
    } catch (error) {
      if (isFluxError(error)) this.observer?.eventsRejected(rejectionReason(error), 1);
      throw error;
    }
    // A conditional event is only worth publishing if its publisher learns the decision.
    const reservation = this.reserve(wait?.applied === true || isConditional(event));
    try {
      return await this.publishAdmitted(event, principal, onRateLimit, reservation, wait?.timeoutMs);
    } finally {
      reservation?.release();
    }
  }

  private async publishAdmitted(
    event: FluxEvent,
    principal: Principal,
    onRateLimit: ((status: RateLimitStatus) => void) | undefined,
    reservation: WaitReservation | undefined,
    timeoutMs = this.waitTimeoutMs,
  ): Promise<PublishResult> {
    const namespace = this.rateLimitedNamespace(principal);
    if (namespace !== undefined) {
      const perMinute = this.runtimeConfig.current.rate_limit_per_namespace_per_minute;
      const decision = await this.rateLimiter.take(namespace, 1, perMinute);
      onRateLimit?.(rateLimitStatus(decision, perMinute));
      if (decision.granted < 1) {
        this.observer?.eventsRejected('rate_limited', 1);
        throw new FluxError(ErrorCode.RateLimited, RATE_LIMIT_MESSAGE, { retryAfterSeconds: decision.retryAfterSeconds });
      }
    }
    const [position] = await this.appender.append([event]);
    const result: PublishResult = { eventId: event.eventId, stream: event.stream, ...positionFields(position!) };
    if (reservation === undefined) return result;
    const [outcome] = await reservation.outcomes([{ position: position!, entityId: event.payload.entity_id }], timeoutMs);
    const decided = decidedResult(result, event, outcome!, timeoutMs);
    if (decided instanceof FluxError) throw decided;
    return decided;
  }

  /**
   * Publishes each element on its own terms (validation, authorisation, entity bound, rate limit) and
   * appends every accepted one in a single log append, in array order.
   */
  async publishBatch(
    inputs: readonly unknown[],
    principal: Principal,
    onRateLimit?: (status: RateLimitStatus) => void,
    wait?: WaitRequest,
  ): Promise<BatchItemResult[]> {
    const results: BatchItemResult[] = new Array(inputs.length);
    const accepted: { index: number; event: FluxEvent }[] = [];
    const slice = new TimeSlice();
    for (let index = 0; index < inputs.length; index++) {
      if (slice.due) await slice.yield();
      const input = inputs[index];
      try {
        const event = this.admit(input, principal);
        accepted.push({ index, event });
      } catch (error) {
        // One element must never fail the others, whatever went wrong with it.
        if (!isFluxError(error)) this.logger?.error({ err: error, index }, 'unexpected failure validating a batch element');
        this.observer?.eventsRejected(isFluxError(error) ? rejectionReason(error) : 'invalid', 1);
        results[index] = { error: isFluxError(error) ? error.message : 'internal error validating this event', ...knownFields(input) };
      }
    }

    // A conditional element makes the whole batch wait: its answer reports each decision.
    const waits = wait?.applied === true || accepted.some(({ event }) => isConditional(event));
    const reservation = this.reserve(waits && accepted.length > 0);
    try {
      await this.appendBatch(accepted, results, principal, onRateLimit, reservation, wait?.timeoutMs);
    } finally {
      reservation?.release();
    }
    return results;
  }

  /** Rate-limits and appends a batch's admitted elements, and fills in their results. */
  private async appendBatch(
    accepted: readonly { index: number; event: FluxEvent }[],
    results: BatchItemResult[],
    principal: Principal,
    onRateLimit: ((status: RateLimitStatus) => void) | undefined,
    reservation: WaitReservation | undefined,
    timeoutMs = this.waitTimeoutMs,
  ): Promise<void> {
    let admitted = accepted;
    const namespace = this.rateLimitedNamespace(principal);
    if (namespace !== undefined && accepted.length > 0) {
      const perMinute = this.runtimeConfig.current.rate_limit_per_namespace_per_minute;
      const decision = await this.rateLimiter.take(namespace, accepted.length, perMinute);
      onRateLimit?.(rateLimitStatus(decision, perMinute));
      admitted = accepted.slice(0, decision.granted);
      for (const { index, event } of accepted.slice(decision.granted)) {
        results[index] = { error: RATE_LIMIT_MESSAGE, eventId: event.eventId, stream: event.stream };
      }
      if (accepted.length > admitted.length) this.observer?.eventsRejected('rate_limited', accepted.length - admitted.length);
    }

    if (admitted.length === 0) return;
    const positions = await this.appender.append(admitted.map(({ event }) => event));
    admitted.forEach(({ index, event }, i) => {
      results[index] = { eventId: event.eventId, stream: event.stream, ...positionFields(positions[i]!) };
    });
    if (reservation === undefined) return;
    const outcomes = await reservation.outcomes(
      admitted.map(({ event }, i) => ({ position: positions[i]!, entityId: event.payload.entity_id })),
      timeoutMs,
    );
    admitted.forEach(({ index, event }, i) => {
      const appended = results[index] as PublishResult;
      const decided = decidedResult(appended, event, outcomes[i]!, timeoutMs);
      results[index] = decided instanceof FluxError ? failedElement(decided, appended) : decided;
    });
  }

  /** A place among the waiting requests when the write waits (503 when there is none). */
  private reserve(waits: boolean): WaitReservation | undefined {
    if (!waits) return undefined;
    if (this.applied === undefined) throw new FluxError(ErrorCode.NotConfigured, 'this server cannot wait for events to be applied');
    return this.applied.reserve();
  }

  /** Appends events Flux produces itself (tombstones, connector observations): no auth, no rate limit. */
  appendEvents(events: readonly FluxEvent[]): Promise<readonly LogPosition[]> {
    return this.appender.append(events);
  }

  /** Validates, authorises and bounds one event; throws the FluxError that refuses it. */
  private admit(input: unknown, principal: Principal): FluxEvent {
    const event = parseEnvelope(input);
    this.authorizer.authorizeWrite(principal, event.payload.entity_id);
    // A tombstone ends its entity whatever else it carries, so it never grows one.
    if (this.entityBound !== undefined && !isTombstone(event)) {
      const exceeded = exceededByEvent(event.payload.properties, this.entityBound);
      if (exceeded !== undefined) throw new FluxError(ErrorCode.PayloadTooLarge, `payload.properties: ${exceeded}`);
    }
    return event;
  }

  private rateLimitedNamespace(principal: Principal): string | undefined {
    if (principal.kind !== 'namespace' || !this.runtimeConfig.current.rate_limit_enabled) return undefined;
    return principal.namespace;
  }
}

/** eventId and stream of a rejected element, where it has them, so clients can correlate. */
function knownFields(input: unknown): { eventId?: string; stream?: string } {
  if (typeof input !== 'object' || input === null) return {};
  try {
    const { eventId, stream } = input as { eventId?: unknown; stream?: unknown };
    return {
      ...(typeof eventId === 'string' && eventId !== '' ? { eventId } : {}),
      ...(typeof stream === 'string' ? { stream } : {}),
    };
  } catch {
    return {}; // an element whose fields cannot even be read is reported without them
  }
}
