import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { handleShutdown, loadOrExit, parseSettings } from '@flux/core';
import { configuredConnectors } from '@flux/connectors';
import { runMaterialiser } from '@flux/embedded';
import packageJson from '../package.json' with { type: 'json' };
import { startEmbeddedFlux, type MaterialiserWorkerData } from './embedded-flux.js';

// The same entry runs both threads of the process: the server, and the materialiser thread the
// server starts on it (see MaterialiserThread). Each parses the same environment.
const settings = loadOrExit('flux', () => parseSettings(process.env));

if (isMainThread) {
  // Connector settings are validated with the rest, before anything is opened.
  const connectors = loadOrExit('flux', () => configuredConnectors(settings, process.env));
  const logger = pino({ level: settings.logLevel, base: { service: 'flux' } });
  const startedAt = performance.now();
  try {
    const flux = await startEmbeddedFlux(settings, connectors, logger, packageJson.version, new URL(import.meta.url));
    handleShutdown(logger, () => flux.close(), flux.failed, settings.shutdownTimeoutMs);
    const url = await flux.app.listen({ port: settings.port, host: settings.host });
    logger.info(
      { url, dataDir: settings.dataDir, mode: settings.authEnabled ? 'public' : 'internal', startupMs: Math.round(performance.now() - startedAt) },
      'flux listening',
    );
  } catch (error) {
    logger.fatal({ err: error }, 'flux failed to start');
    process.exit(1);
  }
} else if (parentPort !== null) {
  const { partitionCount } = workerData as MaterialiserWorkerData;
  const logger = pino({ level: settings.logLevel, base: { service: 'flux', thread: 'materialiser' } });
  await runMaterialiser({ port: parentPort, settings, partitionCount, logger });
}
