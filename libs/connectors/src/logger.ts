/** The slice of a pino logger the connectors use (pino's Logger satisfies it). */
export interface ConnectorLogger {
  debug(object: object, message: string): void;
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

const ignore = (): void => {};
export const silentConnectorLogger: ConnectorLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
