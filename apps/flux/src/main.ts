import { pino } from 'pino';
import { ConfigError, parseSettings, type Settings } from '@flux/core';
import packageJson from '../package.json' with { type: 'json' };
import { startEmbeddedFlux } from './embedded-flux.js';

function loadSettings(): Settings {
  try {
    return parseSettings(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`flux: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

const settings = loadSettings();
const logger = pino({ level: settings.logLevel, base: { service: 'flux' } });
const startedAt = performance.now();

try {
  const flux = await startEmbeddedFlux(settings, logger, packageJson.version);
  const url = await flux.app.listen({ port: settings.port, host: settings.host });
  logger.info(
    { url, dataDir: settings.dataDir, mode: settings.authEnabled ? 'public' : 'internal', startupMs: Math.round(performance.now() - startedAt) },
    'flux listening',
  );

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    flux.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  flux.failed.catch((error: unknown) => {
    // Crash-only: a restart resumes every partition from its committed offset.
    logger.fatal({ err: error }, 'state pipeline failed; exiting so a restart can recover');
    process.exit(1);
  });
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
} catch (error) {
  logger.fatal({ err: error }, 'flux failed to start');
  process.exit(1);
}
