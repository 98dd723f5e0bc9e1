import type {
  ActivityTracker,
  Authorizer,
  ChangeFeed,
  ConnectorService,
  DeletionService,
  FluxMetrics,
  IngestService,
  NamespaceService,
  RuntimeConfigService,
  StateReader,
} from '@flux/core';

export interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
}

/** What the HTTP/WebSocket plugins need; each deployment wires its own implementations. */
export interface ApiDeps {
  readonly authorizer: Authorizer;
  readonly ingest: IngestService;
  readonly deletion: DeletionService;
  readonly reader: StateReader;
  readonly namespaces: NamespaceService;
  readonly runtimeConfig: RuntimeConfigService;
  readonly connectors: ConnectorService;
  readonly feed: ChangeFeed;
  readonly metrics: FluxMetrics;
  readonly activity: ActivityTracker;
  readonly readiness: () => Readiness | Promise<Readiness>;
  /** Largest page a paged list query returns. */
  readonly listMaxLimit: number;
  readonly websocket: {
    readonly metricsIntervalMs: number;
    readonly maxBufferedBytes: number;
  };
}
