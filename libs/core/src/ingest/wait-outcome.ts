import { ErrorCode, FluxError, isConditional, type FluxEvent, type PositionFields } from '@flux/domain';
import type { AwaitedOutcome } from '../positions/applied-positions.js';
import type { PublishResult } from './ingest-service.js';

/** A batch element that failed: why, and what is known of it (an appended one has its position). */
export interface BatchItemFailure extends Partial<PositionFields> {
  readonly error: string;
  /** Set where the failure has a code of its own (version_conflict, FLUX_WAIT_TIMEOUT, ...). */
  readonly code?: ErrorCode;
  readonly eventId?: string;
  readonly stream?: string;
  readonly current_version?: number;
}

/**
 * The answer to a write that waited for its event: the appended result with the entity's
 * version, or the error that tells the publisher its event changed nothing (a failed condition,
 * the entity bound) or that its fate is not known yet. The error's details repeat the event's
 * id and position, so the publisher can look it up later.
 */
export function decidedResult(result: PublishResult, event: FluxEvent, outcome: AwaitedOutcome, timeoutMs: number): PublishResult | FluxError {
  const id = event.payload.entity_id;
  const where = { eventId: result.eventId, position: result.position };
  switch (outcome.kind) {
    case 'applied':
      return { ...result, version: outcome.version };
    case 'conflict':
      return new FluxError(ErrorCode.VersionConflict, `the event's condition did not hold: ${id} is at version ${outcome.currentVersion}`, {
        details: { current_version: outcome.currentVersion, ...where },
      });
    case 'refused':
      return new FluxError(ErrorCode.PayloadTooLarge, `the event was not applied: ${id} would exceed the entity size bound`, {
        details: { current_version: outcome.currentVersion, ...where },
      });
    case 'timeout':
      return new FluxError(ErrorCode.WaitTimeout, `the event was appended but not applied within ${timeoutMs} ms; its outcome is not known yet`, {
        details: where,
      });
    default:
      // Decided, but what it did could not be read back: a conditional event's publisher must
      // not take that for a win; any other gets its position without a guessed version.
      if (!isConditional(event)) return result;
      return new FluxError(ErrorCode.Unavailable, `the event was decided, but its outcome could not be read back; see the history of ${id}`, {
        details: where,
      });
  }
}

/** A batch element's result for an appended event whose wait ended in an error. */
export function failedElement(error: FluxError, appended: PublishResult): BatchItemFailure {
  const { version: _version, ...known } = appended;
  const currentVersion = error.details?.current_version;
  return { error: error.message, code: error.code, ...known, ...(typeof currentVersion === 'number' ? { current_version: currentVersion } : {}) };
}
