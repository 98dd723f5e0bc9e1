// The module of the embedded server's materialiser thread (see MaterialiserThread): the
// reducers and the state commits, and nothing of the HTTP server, so the thread loads only
// what it runs.
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { runMaterialiser } from '@flux/embedded';
import type { MaterialiserWorkerData } from './embedded-flux.js';

if (parentPort === null) throw new Error('materialiser.ts runs as a worker thread of the embedded server');
const { settings, partitionCount } = workerData as MaterialiserWorkerData;
const logger = pino({ level: settings.logLevel, base: { service: 'flux', thread: 'materialiser' } });
await runMaterialiser({ port: parentPort, settings, partitionCount, logger });
