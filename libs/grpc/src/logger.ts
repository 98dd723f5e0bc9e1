/**
 * The logging this library needs. Structural, so a pino `Logger` (what the apps pass) fits
 * without this package depending on pino.
 */
export interface GrpcLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const ignore = (): void => undefined;

/** Discards everything (the default where a logger is optional). */
export const silentLogger: GrpcLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
