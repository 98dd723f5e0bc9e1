import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  ActivityTracker,
  AppliedPositions,
  Authorizer,
  ChangeReplay,
  ConnectorService,
  OAuthService,
  SourceService,
  DeletionService,
  FluxMetrics,
  IngestService,
  NamespaceService,
  Readiness,
  RuntimeConfigService,
  StateReader,
  SubscriberFeed,
} from '@flux/core';

export type { Readiness };

/** What every Flux HTTP server needs, whatever its role. */
export interface SystemDeps {
  readonly authorizer: Authorizer;
  readonly runtimeConfig: RuntimeConfigService;
  readonly metrics: FluxMetrics;
  readonly readiness: () => Readiness | Promise<Readiness>;
}

/** The write side: events, batches and deletions (the ingest gateway's routes). */
export interface IngestDeps extends SystemDeps {
  readonly ingest: IngestService;
  readonly deletion: DeletionService;
}

/** The read side: state, history, WebSocket, namespaces, admin config and connectors (the query gateway's routes). */
export interface QueryDeps extends SystemDeps {
  readonly reader: StateReader;
  readonly namespaces: NamespaceService;
  readonly connectors: ConnectorService;
  readonly oauth: OAuthService;
  readonly sources: SourceService;
  /** What WebSocket clients receive (any ChangeFeed, or a CatchingUpFeed over a feed that can miss changes). */
  readonly feed: SubscriberFeed;
  /** The store's record of recent changes, which prefix subscriptions replay (`since`); without it they are refused. */
  readonly replay?: ChangeReplay;
  readonly activity: ActivityTracker;
  /** Largest page a paged list query returns. */
  readonly listMaxLimit: number;
  /** What the reducers applied, for reads that must reflect a position (min_position); refused without it. */
  readonly applied?: AppliedPositions;
  /** Bound of such a wait when the request does not give one. */
  readonly waitTimeoutMs: number;
  /** The log's partition count (a position names one of them). */
  readonly partitionCount: number;
  readonly websocket: {
    readonly metricsIntervalMs: number;
    readonly maxBufferedBytes: number;
    readonly maxSubscriptionBytes: number;
    /** 0: unlimited. */
    readonly maxConnectionsPerAddress: number;
    /**
     * WebSocket connections of the whole deployment, given this process's own count; the
     * default is the local count (one process).
     */
    readonly totalConnections?: (local: number) => Promise<number>;
  };
}

/** Everything, for a process that serves every route itself (the embedded deployment). */
export type ApiDeps = IngestDeps & QueryDeps;

/**
 * MCP over streamable HTTP at `/mcp` (the endpoint of @flux/mcp). The API only routes requests
 * to it; the endpoint answers them itself.
 */
export interface McpEndpoint {
  /** Serves one request; `body` is the parsed JSON body, `fluxUrl` where this server's own API answers. */
  handle(request: IncomingMessage, response: ServerResponse, body: unknown, fluxUrl: string): Promise<void>;
  /** Open sessions (the flux_mcp_sessions metric). */
  readonly sessionCount: number;
  /** Ends every session (called when the server closes). */
  close(): Promise<void>;
}
