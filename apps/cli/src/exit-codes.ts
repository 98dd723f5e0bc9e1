import { CommanderError } from 'commander';
import { FluxError, FluxHttpError, FluxNetworkError } from '@flux/client';

/** The exit statuses of `flux`, documented in `flux --help` and the README. */
export const ExitCode = {
  Ok: 0,
  /** Wrong arguments or options, unreadable input, or a missing token the verb needs. */
  Usage: 1,
  /** Flux refused the request (HTTP 4xx): invalid, unauthorised, forbidden, not found, rate limited. */
  ClientError: 2,
  /** Flux failed or is unavailable (HTTP 5xx, not ready), or answered with something not Flux's. */
  ServerError: 3,
  /** Flux could not be reached: connection refused, DNS, timeout. */
  Network: 4,
  /** The request succeeded but some events were refused (batch, import). */
  Partial: 5,
  /** A bug in flux itself; FLUX_DEBUG=1 prints the stack. */
  Internal: 6,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODES_HELP = `Exit status:
  0  success
  1  usage error (arguments, options, unreadable input)
  2  Flux refused the request (HTTP 4xx), or get found no entity
  3  Flux failed or is unavailable (HTTP 5xx, not ready)
  4  Flux could not be reached (connection refused, timeout)
  5  some events of a batch or import were refused
  6  internal error of flux (FLUX_DEBUG=1 shows the stack)`;

/** A usage problem found by the CLI itself (bad JSON argument, missing token, ...). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A failure the CLI reports with its own exit code (not found, partial batch). */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';

  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  if (error instanceof UsageError) return ExitCode.Usage;
  if (error instanceof CliFailure) return error.exitCode;
  if (error instanceof FluxHttpError) return error.status >= 500 ? ExitCode.ServerError : ExitCode.ClientError;
  if (error instanceof FluxNetworkError) return ExitCode.Network;
  if (error instanceof FluxError) return ExitCode.ServerError;
  return ExitCode.Internal;
}

/** One line for stderr. */
export function describeError(error: unknown): string {
  if (error instanceof FluxHttpError) return `${error.message} (HTTP ${error.status} ${error.code} from ${error.method} ${error.path})`;
  if (error instanceof FluxError) return `${error.message} (${error.code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}
