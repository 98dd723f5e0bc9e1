import type { Logger } from 'pino';
import { buildServer, type BuiltServer } from '@flux/api';
import {
  ClosingOrder,
  composeGatewayServices,
  composeIngestRole,
  composeQueryRole,
  composeDirectoryPublisher,
  composeWaits,
  FluxMetrics,
  type Settings,
} from '@flux/core';
import { ConnectorRuntime, connectorDefinitions, SourceTargets, type Connector } from '@flux/connectors';
import { MaterialiserThread, MemoryPollLease, openEmbedded } from '@flux/embedded';
import { mcpEndpoint } from '@flux/mcp';

export interface RunningFlux extends BuiltServer {
  /** Stops accepting requests, lets reducers finish their batch, and closes the stores. */
  close(): Promise<void>;
  /** Rejects if a partition reducer fails: state would stop following the log, so the process should exit. */
  readonly failed: Promise<never>;
}

/**
 * The composition root of the single-process deployment: the same services the distributed
 * gateways and reducers use, wired to the embedded adapters.
 */
export async function startEmbeddedFlux(
  settings: Settings,
  connectorSet: readonly Connector[],
  logger: Logger,
  version: string,
  /** The module the materialiser thread runs (apps/flux/src/materialiser.ts, or its build). */
  materialiserEntry: URL,
): Promise<RunningFlux> {
  const embedded = await openEmbedded({
    dataDir: settings.dataDir,
    partitionCount: settings.partitionCount,
    changeRetentionOffsets: settings.changeRetentionOffsets,
  });
  const { log, state, control, feed, rateLimiter } = embedded;
  if (log.partitionCount !== settings.partitionCount) {
    logger.warn(
      { stored: log.partitionCount, requested: settings.partitionCount },
      'the event log keeps the partition count it was created with; FLUX_PARTITIONS is ignored',
    );
  }

  const closing = new ClosingOrder(logger);
  closing.add('embedded stores', () => embedded.close());
  const metrics = new FluxMetrics({ entities: async () => (await state.counts()).total });
  const services = await composeGatewayServices(settings, control, logger, closing);
  // Writes that wait (wait=applied) and reads that must reflect a position follow the reducers' commits.
  const applied = composeWaits({ settings, source: feed, store: state, history: state, partitionCount: log.partitionCount, logger }, closing);
  const { ingest, deletion } = composeIngestRole({ settings, services, log, rateLimiter, reader: state, metrics, logger, applied });
  const query = composeQueryRole(
    { settings, control, reader: state, feed, deletion, connectorDefinitions: connectorDefinitions(connectorSet) },
    closing,
  );
  // Reducers and state commits run on a thread of their own; this one appends and reads.
  const materialiser = new MaterialiserThread({
    entry: materialiserEntry,
    workerData: { settings, partitionCount: log.partitionCount } satisfies MaterialiserWorkerData,
    log,
    state,
    feed,
    logger,
  });
  closing.add('materialiser', () => materialiser.stop());
  materialiser.observe(metrics.reducerObserver(materialiser));
  const directory = composeDirectoryPublisher({
    reader: state,
    appender: ingest.appender,
    logger,
    ...(settings.authEnabled ? { registeredNamespaces: () => query.namespaces.names() } : {}),
  });
  closing.add('directory', () => directory.stop());
  // Recovery runs while the server answers (/ready says when it is done); a failure ends up in
  // `failed`. The directory is computed from the state, so only once the state caught up.
  materialiser.start().then(
    () => directory.start(),
    () => undefined,
  );

  const deps = {
    ...services,
    ...query,
    metrics,
    readiness: () => (materialiser.recovered ? { ready: true } : { ready: false, reason: 'replaying the event log' }),
    ingest,
    deletion,
    reader: state,
    feed,
    replay: state,
    applied,
    waitTimeoutMs: settings.wait.defaultTimeoutMs,
    partitionCount: log.partitionCount,
    listMaxLimit: settings.listMaxLimit,
    websocket: settings.websocket,
  };
  const mcp = mcpEndpoint(settings.mcp, logger, version);
  const server = await buildServer(
    { system: deps, ingest: deps, query: deps, ...mcp },
    { logger, version, http: settings.http, dashboard: { publicMode: settings.authEnabled } },
  );
  closing.add('HTTP server', () => server.close());

  const connectorRuntime = new ConnectorRuntime({
    connectors: connectorSet,
    lease: new MemoryPollLease(),
    control,
    credentials: query.connectors,
    sources: new SourceTargets({
      control,
      secretOf: (source) => query.sources.secretOf(source),
      ...settings.sources,
    }),
    ingest,
    state,
    logger: logger.child({ component: 'connectors' }),
    publicMode: settings.authEnabled,
    // Polls compare against the state, so they wait until the log has been replayed.
    isReady: () => materialiser.recovered,
  });
  connectorRuntime.start();
  closing.add('connectors', () => connectorRuntime.stop());

  return { ...server, failed: materialiser.failed, close: () => closing.close() };
}

/** What the server thread hands the materialiser thread it starts. */
export interface MaterialiserWorkerData {
  /**
   * This server's settings, as parsed once at start-up: the thread works on the same data
   * directory whoever started the server and from whatever environment.
   */
  readonly settings: Settings;
  /** The log's partition count as opened (a log keeps the count it was created with). */
  readonly partitionCount: number;
}
