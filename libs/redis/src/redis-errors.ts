import { ReplyError } from 'ioredis';
import { ErrorCode, FluxError, isFluxError } from '@flux/domain';

/**
 * Runs a store operation and reports connection-level failures (refused, closed, timed out,
 * retries exhausted) as FLUX_STORE_UNAVAILABLE, which the API answers with 503. Errors Redis
 * itself replied with (a script bug, a wrong key type) are not an outage and pass unchanged.
 */
export async function storeCall<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    // Not an outage: Redis' own error replies, and bugs or bad data on this side.
    if (
      isFluxError(error) ||
      error instanceof ReplyError ||
      error instanceof RangeError ||
      error instanceof SyntaxError ||
      error instanceof TypeError
    )
      throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new FluxError(ErrorCode.StoreUnavailable, `Redis unavailable during ${what}: ${reason}`, { cause: error });
  }
}
