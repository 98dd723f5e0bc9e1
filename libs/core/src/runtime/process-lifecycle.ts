import { pino, type Logger } from 'pino';
import { ConfigError } from '../config/settings.js';

/**
 * Parses settings once at start-up. A ConfigError ends the process with one fatal log line
 * naming every bad variable (`problems`), like every other start-up failure (see guardStartup);
 * the log level is one of the settings, so this line is written whatever it would have been.
 */
export function loadOrExit<T>(service: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ConfigError) {
      pino({ base: { service } }).fatal({ problems: error.problems }, `${service} failed to start: invalid configuration`);
      process.exit(1);
    }
    throw error;
  }
}

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 20_000;

/** A second signal this soon after the first is the same stop, relayed by a launcher. */
const RELAYED_SIGNAL_WINDOW_MS = 1_000;

/**
 * Runs `close` on SIGINT/SIGTERM (once) and exits 0 once it finished: `close` stops accepting,
 * drains the requests in flight and the current batch. A second signal (a second or more after
 * the first), or `timeoutMs` without
 * `close` finishing, forces exit 1 with a log line, so a stuck drain never outlives its grace
 * period (Kubernetes would SIGKILL it without a word). Exits non-zero when `failed` rejects, so
 * a supervisor restarts the process and it recovers from committed state (crash-only design).
 */
export function handleShutdown(
  logger: Logger,
  close: () => Promise<void>,
  failed?: Promise<unknown>,
  timeoutMs: number = DEFAULT_SHUTDOWN_TIMEOUT_MS,
): void {
  let stoppingSince: number | undefined;
  const shutdown = (signal: string): void => {
    if (stoppingSince !== undefined) {
      // A terminal signals the whole process group and npm forwards the same signal again:
      // a repeat that close is one stop, not a request to force it.
      if (performance.now() - stoppingSince < RELAYED_SIGNAL_WINDOW_MS) return;
      logger.fatal({ signal }, 'second signal during shutdown; exiting without finishing the drain');
      process.exit(1);
    }
    stoppingSince = performance.now();
    logger.info({ signal, timeoutMs }, 'shutting down');
    setTimeout(() => {
      logger.fatal({ timeoutMs }, 'shutdown deadline passed; exiting without finishing the drain');
      process.exit(1);
    }, timeoutMs).unref();
    close().then(
      () => {
        logger.info('stopped gracefully');
        process.exit(0);
      },
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

/**
 * Until the returned function is called, any error that escapes start-up (a top-level await
 * that rejects: Kafka or Redis unreachable, a port taken) ends the process with one structured
 * fatal log line and exit 1, rather than a raw stack on stderr.
 */
export function guardStartup(logger: Logger, service: string): () => void {
  const onFailure = (error: unknown): void => {
    logger.fatal({ err: error }, `${service} failed to start`);
    process.exit(1);
  };
  process.on('uncaughtException', onFailure);
  return () => {
    process.off('uncaughtException', onFailure);
  };
}
