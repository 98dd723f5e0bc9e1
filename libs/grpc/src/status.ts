import { Metadata, status as GrpcStatus, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { ErrorCode, FluxError, isFluxError } from '@flux/domain';

/** Trailing metadata key carrying the FluxError code of a failed call, so gateways keep it. */
export const FLUX_ERROR_CODE_METADATA = 'flux-error-code';

/**
 * Trailing metadata key of a misrouted call: the shard does not own (any more) the partitions
 * listed (comma-separated). Gateways that route by a partition map re-read it and ask again.
 */
export const FLUX_MISROUTED_METADATA = 'flux-misrouted';

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

const grpcCodeFor = (code: ErrorCode): GrpcStatus => {
  switch (code) {
    case ErrorCode.Validation:
      return GrpcStatus.INVALID_ARGUMENT;
    case ErrorCode.NotFound:
      return GrpcStatus.NOT_FOUND;
    case ErrorCode.StoreUnavailable:
    case ErrorCode.LogUnavailable:
      return GrpcStatus.UNAVAILABLE;
    case ErrorCode.RateLimited:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case ErrorCode.Fenced:
      return GrpcStatus.FAILED_PRECONDITION;
    default:
      return GrpcStatus.INTERNAL;
  }
};

/** A status for a failed call: FluxErrors keep their code (in trailing metadata too). */
export function statusFromError(error: unknown): Partial<StatusObject> {
  const code = isFluxError(error) ? error.code : ErrorCode.Internal;
  return fluxStatus(grpcCodeFor(code), code, error instanceof Error ? error.message : String(error));
}

/** A status with an explicit gRPC code and the FluxError code a gateway should answer with. */
export function fluxStatus(grpcCode: GrpcStatus, fluxCode: ErrorCode, details: string): Partial<StatusObject> {
  const metadata = new Metadata();
  metadata.set(FLUX_ERROR_CODE_METADATA, fluxCode);
  return { code: grpcCode, details, metadata };
}

const isServiceError = (error: unknown): error is ServiceError => error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number';

/**
 * The answer to a request for partitions this shard does not own: FAILED_PRECONDITION with
 * FLUX_STORE_UNAVAILABLE (what a client sees if the gateway cannot route around it) and the
 * partitions in `flux-misrouted`.
 */
export function misroutedStatus(partitions: readonly number[], details: string): Partial<StatusObject> {
  const metadata = new Metadata();
  metadata.set(FLUX_ERROR_CODE_METADATA, ErrorCode.StoreUnavailable);
  metadata.set(FLUX_MISROUTED_METADATA, partitions.join(','));
  return { code: GrpcStatus.FAILED_PRECONDITION, details, metadata };
}

/**
 * Whether a call failed as misrouted (see `misroutedStatus`): `error` is the call's
 * ServiceError, or the FluxError `fluxErrorFromCall` made of it.
 */
export function isMisrouted(error: unknown): boolean {
  const call = isFluxError(error) ? error.cause : error;
  if (!isServiceError(call) || call.code !== GrpcStatus.FAILED_PRECONDITION) return false;
  return (call.metadata?.get(FLUX_MISROUTED_METADATA).length ?? 0) > 0;
}

/**
 * The FluxError for a failed call to a shard. A code the shard sent in trailing metadata wins;
 * otherwise a shard that cannot answer (down, unreachable, too slow, overloaded, or not the
 * owner of the entity) is FLUX_STORE_UNAVAILABLE, the 503 a client may retry.
 */
export function fluxErrorFromCall(error: unknown, what: string): FluxError {
  if (isFluxError(error)) return error;
  if (!isServiceError(error)) {
    return new FluxError(ErrorCode.Internal, `${what} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const sent = error.metadata?.get(FLUX_ERROR_CODE_METADATA)[0];
  const message = `${what} failed: ${GrpcStatus[error.code] ?? error.code} ${error.details}`;
  if (typeof sent === 'string' && KNOWN_CODES.has(sent)) return new FluxError(sent as ErrorCode, message, { cause: error });
  switch (error.code) {
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DEADLINE_EXCEEDED:
    case GrpcStatus.CANCELLED:
    case GrpcStatus.RESOURCE_EXHAUSTED:
    case GrpcStatus.FAILED_PRECONDITION:
    case GrpcStatus.ABORTED:
    case GrpcStatus.UNIMPLEMENTED:
      return new FluxError(ErrorCode.StoreUnavailable, message, { cause: error });
    case GrpcStatus.INVALID_ARGUMENT:
      return new FluxError(ErrorCode.Validation, message, { cause: error });
    default:
      return new FluxError(ErrorCode.Internal, message, { cause: error });
  }
}
