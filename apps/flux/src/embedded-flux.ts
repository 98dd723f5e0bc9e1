import type { Logger } from 'pino';
import { buildServer, type BuiltServer } from '@flux/api';
import {
  ActivityTracker,
  adminTokenWarning,
  Authorizer,
  ConnectorService,
  CredentialVault,
  DeletionService,
  DirectoryPublisher,
  FluxMetrics,
  IngestService,
  NamespaceService,
  ReducerGroup,
  RuntimeConfigService,
  type Settings,
} from '@flux/core';
import { ConnectorRuntime, connectorDefinitions, type Connector } from '@flux/connectors';
import { MemoryPollLease, openEmbedded } from '@flux/embedded';

export interface RunningFlux extends BuiltServer {
  /** Stops accepting requests, lets reducers finish their batch, and closes the stores. */
  close(): Promise<void>;
  /** Rejects if a partition reducer fails: state would stop following the log, so the process should exit. */
  readonly failed: Promise<never>;
}

/** How often applied log records are dropped from the embedded log. */
const LOG_TRUNCATE_INTERVAL_MS = 2_000;

/**
 * The composition root of the single-process deployment: the same services the distributed
 * gateways and reducers use, wired to the embedded adapters.
 */
export async function startEmbeddedFlux(
  settings: Settings,
  connectorSet: readonly Connector[],
  logger: Logger,
  version: string,
): Promise<RunningFlux> {
  const embedded = await openEmbedded({ dataDir: settings.dataDir, partitionCount: settings.partitionCount });
  const { log, state, control, feed, rateLimiter } = embedded;
  if (log.partitionCount !== settings.partitionCount) {
    logger.warn(
      { stored: log.partitionCount, requested: settings.partitionCount },
      'the event log keeps the partition count it was created with; FLUX_PARTITIONS is ignored',
    );
  }

  const metrics = new FluxMetrics({ entities: async () => (await state.counts()).total });
  const activity = new ActivityTracker();
  const stopActivity = feed.subscribe((changes) => activity.record(changes));
  const authorizer = new Authorizer({ authEnabled: settings.authEnabled, adminToken: settings.adminToken, control });
  const warning = adminTokenWarning(settings);
  if (warning !== undefined) logger.warn(warning);
  const runtimeConfig = await RuntimeConfigService.load(control, settings.initialRuntimeConfig, logger);
  const ingest = new IngestService({ log, authorizer, rateLimiter, runtimeConfig, observer: metrics, logger, entityBound: settings.entityBound });
  const deletion = new DeletionService({ ingest, reader: state, authorizer, maxBatchDelete: settings.maxBatchDelete });
  const namespaces = new NamespaceService(control, state, Date.now, async (name) => {
    await deletion.deleteNamespace(name);
  });
  const connectors = new ConnectorService(control, new CredentialVault(settings.encryptionKey), connectorDefinitions(connectorSet));

  let fail: (error: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  const appliedOffsets = new Map<number, number>();
  const reducers = new ReducerGroup({
    partitions: Array.from({ length: log.partitionCount }, (_, partition) => partition),
    log,
    store: state,
    feed,
    logger: logger.child({ component: 'reducer' }),
    entityBound: settings.entityBound,
    onRefused: (reason) => metrics.eventsRefused(reason),
    onCommitted: (partition, lastOffset, events) => {
      appliedOffsets.set(partition, lastOffset);
      metrics.eventsApplied(partition, events);
    },
    onFailure: (partition, error) => fail(new Error(`reducer of partition ${partition} failed`, { cause: error })),
  });
  const recovery = reducers.start();
  recovery.catch((error: unknown) => fail(new Error('recovery failed', { cause: error })));

  // Often and in small steps: one truncation is one write transaction on the log, and appends
  // queue behind it, so dropping 30 s of records at once stalled ingest for a quarter second.
  const truncatedBefore = new Map<number, number>();
  let truncating = false;
  const truncation = setInterval(() => {
    const due = [...appliedOffsets].filter(([partition, offset]) => offset + 1 > (truncatedBefore.get(partition) ?? 0));
    if (truncating || due.length === 0) return;
    truncating = true;
    // State commits reach the disk after they are applied; records are dropped only once the
    // state that reflects them is durable, or a crash could leave neither.
    state
      .flushed()
      .then(() =>
        Promise.all(
          due.map(([partition, offset]) =>
            embedded.log.truncateBefore(partition, offset + 1).then(
              () => truncatedBefore.set(partition, offset + 1),
              (error: unknown) => logger.warn({ err: error, partition }, 'log truncation failed'),
            ),
          ),
        ),
      )
      .catch((error: unknown) => logger.warn({ err: error }, 'state flush before log truncation failed'))
      .finally(() => {
        truncating = false;
      });
  }, LOG_TRUNCATE_INTERVAL_MS);
  truncation.unref();

  const directory = new DirectoryPublisher({
    reader: state,
    appender: ingest.appender,
    logger: logger.child({ component: 'directory' }),
    ...(settings.authEnabled ? { registeredNamespaces: () => namespaces.names() } : {}),
  });
  directory.start();

  const deps = {
    authorizer,
    runtimeConfig,
    metrics,
    readiness: () => (reducers.recovered ? { ready: true } : { ready: false, reason: 'replaying the event log' }),
    ingest,
    deletion,
    reader: state,
    namespaces,
    connectors,
    feed,
    activity,
    listMaxLimit: settings.listMaxLimit,
    websocket: settings.websocket,
  };
  const server = await buildServer(
    { system: deps, ingest: deps, query: deps },
    { logger, version, http: settings.http },
  );

  const connectorRuntime = new ConnectorRuntime({
    connectors: connectorSet,
    lease: new MemoryPollLease(),
    control,
    credentials: connectors,
    ingest,
    state,
    logger: logger.child({ component: 'connectors' }),
    publicMode: settings.authEnabled,
    // Polls compare against the state, so they wait until the log has been replayed.
    isReady: () => reducers.recovered,
  });
  connectorRuntime.start();

  return {
    ...server,
    failed,
    async close() {
      clearInterval(truncation);
      await server.app.close();
      await connectorRuntime.stop();
      await directory.stop();
      await reducers.stop();
      stopActivity();
      runtimeConfig.close();
      await embedded.close();
    },
  };
}
