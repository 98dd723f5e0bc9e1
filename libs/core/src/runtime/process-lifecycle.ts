import type { Logger } from 'pino';
import { ConfigError } from '../config/settings.js';

/** Parses settings once at start-up; a ConfigError ends the process naming every bad variable. */
export function loadOrExit<T>(service: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${service}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * Runs `close` on SIGINT/SIGTERM (once) and exits; exits non-zero when `failed` rejects, so a
 * supervisor restarts the process and it recovers from committed state (crash-only design).
 */
export function handleShutdown(logger: Logger, close: () => Promise<void>, failed?: Promise<unknown>): void {
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  failed?.catch((error: unknown) => {
    logger.fatal({ err: error }, 'a required component failed; exiting so a restart can recover');
    process.exit(1);
  });
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
