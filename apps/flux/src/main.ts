import { extname } from 'node:path';
import { pino } from 'pino';
import { handleShutdown, loadOrExit, parseSettings } from '@flux/core';
import { configuredConnectors } from '@flux/connectors';
import packageJson from '../package.json' with { type: 'json' };
import { startEmbeddedFlux } from './embedded-flux.js';

const settings = loadOrExit('flux', () => parseSettings(process.env));
// Connector settings are validated with the rest, before anything is opened.
const connectors = loadOrExit('flux', () => configuredConnectors(settings, process.env));
const logger = pino({ level: settings.logLevel, base: { service: 'flux' } });
const startedAt = performance.now();
// Beside this file: materialiser.ts from the sources (tsx), materialiser.js in dist/flux.
const materialiserEntry = new URL(`./materialiser${extname(new URL(import.meta.url).pathname)}`, import.meta.url);

try {
  const flux = await startEmbeddedFlux(settings, connectors, logger, packageJson.version, materialiserEntry);
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
