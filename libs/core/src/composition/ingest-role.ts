import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import { DeletionService } from '../ingest/deletion-service.js';
import { IngestService } from '../ingest/ingest-service.js';
import type { FluxMetrics } from '../observability/flux-metrics.js';
import type { AppliedPositions } from '../positions/applied-positions.js';
import type { EventLog } from '../ports/event-log.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import type { StateReader } from '../ports/state-store.js';
import type { GatewayServices } from './gateway-services.js';

export interface IngestRoleOptions {
  readonly settings: Settings;
  readonly services: GatewayServices;
  readonly log: EventLog;
  readonly rateLimiter: RateLimiter;
  /** Batch deletes by prefix or namespace list what exists. */
  readonly reader: StateReader;
  readonly metrics: FluxMetrics;
  readonly logger: Logger;
  /** What the reducers applied, for writes that wait (wait=applied); such writes are refused without it. */
  readonly applied?: AppliedPositions;
}

/** The write path: events and deletions validated, authorised, rate-limited and appended. */
export interface IngestRole {
  readonly ingest: IngestService;
  readonly deletion: DeletionService;
}

export function composeIngestRole(options: IngestRoleOptions): IngestRole {
  const { settings, services, log, rateLimiter, reader, metrics, logger } = options;
  const { authorizer, runtimeConfig } = services;
  const ingest = new IngestService({
    log,
    authorizer,
    rateLimiter,
    runtimeConfig,
    observer: metrics.ingestObserver(),
    logger,
    entityBound: settings.entityBound,
    waitTimeoutMs: settings.wait.defaultTimeoutMs,
    ...(options.applied === undefined ? {} : { applied: options.applied }),
  });
  const deletion = new DeletionService({ ingest, reader, authorizer, maxBatchDelete: settings.maxBatchDelete });
  return { ingest, deletion };
}
