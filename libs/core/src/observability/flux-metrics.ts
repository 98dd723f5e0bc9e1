import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IngestObserver, IngestRejection } from '../ingest/ingest-service.js';
import type { PartitionLag } from '../reducer/consumer-lag.js';
import type { CommitTiming } from '../reducer/partition-reducer.js';

/**
 * Buckets of the latency histograms (reducer commits, shard calls, log appends), in seconds:
 * from a local Redis commit (sub-millisecond) to the deadlines and timeouts (1 s to 10 s).
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Buckets of the records per reducer commit, up to the reducer's batch limit (2000). */
export const BATCH_RECORDS_BUCKETS: readonly number[] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000];

/**
 * A scrape waits this long for the log's end offsets; past it the lag is left out of that
 * scrape rather than making the whole scrape time out.
 */
export const LAG_SCRAPE_TIMEOUT_MS = 2_000;

/** What the reducers of a process show at scrape time. */
export interface ReducerStatus {
  readonly partitionsOwned: number;
  lag(): Promise<readonly PartitionLag[]>;
}

/** What the reducers of a process report as they go. */
export interface ReducerObserver {
  committed(partition: number, events: number, commit: CommitTiming): void;
  fenced(partition: number, detectedBy: 'commit' | 'claim_check'): void;
  refused(reason: 'entity_limit' | 'version_conflict'): void;
  /** A partition handed to this process, let go, or lost to a newer claim (elastic reducers). */
  handover(direction: 'acquired' | 'released' | 'lost'): void;
  /** Tombstones a partition's ttl sweeper appended for expired entities. */
  expired(count: number): void;
}

/** One finished unary call from a gateway to a reducer shard. */
export interface ShardCall {
  /** The StateService method, e.g. `GetEntity`. */
  readonly method: string;
  /** The shard index (static reducers) or the reducer's address (elastic reducers). */
  readonly shard: number | string;
  /** The gRPC status name, `OK` on success. */
  readonly code: string;
  readonly seconds: number;
}

export interface WebSocketMetrics {
  readonly connections: Gauge;
  readonly slowConsumers: Counter;
}

export interface ShardCallObserver {
  shardCallEnded(call: ShardCall): void;
}

/** Distinct `shard` label values of the gateway's call metrics; later shards are counted as `other`. */
export const MAX_SHARD_LABELS = 64;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Prometheus metrics of one Flux process (`GET /metrics`; a reducer's own port). Every process
 * has the process, HTTP and WebSocket metrics; each role registers its own group once it is
 * composed (ingest, reducers, shard calls), so a process only exposes what it does.
 */
export class FluxMetrics {
  readonly registry = new Registry();
  private http: Histogram<'method' | 'route' | 'status'> | undefined;
  private websocket: WebSocketMetrics | undefined;
  private ingest: IngestObserver | undefined;
  private reducers: ReducerObserver | undefined;
  private shardCalls: ShardCallObserver | undefined;
  private mcpSessionCount: (() => number) | undefined;

  constructor(collect: { entities: () => Promise<number> } | undefined = undefined) {
    // prom-client's names already start with process_ or nodejs_: flux_process_cpu_seconds_total.
    collectDefaultMetrics({ register: this.registry, prefix: 'flux_' });
    if (collect !== undefined) {
      new Gauge({
        name: 'flux_entities',
        help: 'Entities in the state store (system entities excluded)',
        registers: [this.registry],
        async collect() {
          this.set(await collect.entities());
        },
      });
    }
  }

  /** The HTTP API's request durations (every process that serves the API). */
  httpRequests(): Histogram<'method' | 'route' | 'status'> {
    this.http ??= new Histogram({
      name: 'flux_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    return this.http;
  }

  /** The WebSocket change feed's connections (every process that serves it). */
  websocketMetrics(): WebSocketMetrics {
    this.websocket ??= {
      connections: new Gauge({ name: 'flux_websocket_connections', help: 'Open WebSocket connections', registers: [this.registry] }),
      slowConsumers: new Counter({
        name: 'flux_websocket_slow_consumer_disconnects_total',
        help: 'WebSocket clients disconnected because they did not keep up',
        registers: [this.registry],
      }),
    };
    return this.websocket;
  }

  /** The ingest role's metrics: events accepted and rejected, and how long log appends take. */
  /** The MCP endpoint's open sessions, read at each scrape (registered once; the first count wins). */
  mcpSessions(count: () => number): void {
    if (this.mcpSessionCount !== undefined) return;
    this.mcpSessionCount = count;
    new Gauge({
      name: 'flux_mcp_sessions',
      help: 'Open MCP sessions of this process',
      registers: [this.registry],
      collect() {
        this.set(count());
      },
    });
  }

  ingestObserver(): IngestObserver {
    if (this.ingest !== undefined) return this.ingest;
    const registers = [this.registry];
    const accepted = new Counter({ name: 'flux_events_accepted_total', help: 'Events durably appended to the log', registers });
    const rejected = new Counter({
      name: 'flux_events_rejected_total',
      help: 'Events refused by the ingest path, by reason',
      labelNames: ['reason'],
      registers,
    });
    const appends = new Histogram({
      name: 'flux_log_append_duration_seconds',
      help: 'Time from handing events to the log until it acknowledged them durable (Kafka produce with acks=all; the embedded log write), by outcome',
      labelNames: ['outcome'],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    this.ingest = {
      eventsAccepted: (count) => accepted.inc(count),
      eventsRejected: (reason: IngestRejection, count) => rejected.inc({ reason }, count),
      logAppended: (seconds, outcome) => appends.observe({ outcome }, seconds),
    };
    return this.ingest;
  }

  /** The reducer role's metrics; `status` is read at every scrape. */
  reducerObserver(status: ReducerStatus): ReducerObserver {
    if (this.reducers !== undefined) return this.reducers;
    const registers = [this.registry];
    const applied = new Counter({
      name: 'flux_events_applied_total',
      help: 'Events applied to state by this process, by partition',
      labelNames: ['partition'],
      registers,
    });
    const refused = new Counter({
      name: 'flux_events_refused_total',
      help: 'Acknowledged events the reducer did not apply, by reason (entity_limit: the entity would exceed its bound; version_conflict: the event condition did not hold)',
      labelNames: ['reason'],
      registers,
    });
    const expired = new Counter({
      name: 'flux_ttl_tombstones_total',
      help: 'Tombstones appended for entities whose ttl_seconds ran out (each conditioned on the version seen: an update that lands first keeps the entity)',
      registers,
    });
    const commits = new Histogram({
      name: 'flux_reducer_commit_duration_seconds',
      help: "Time of one reducer commit to the state store (state, history and the partition's offset together)",
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    const batches = new Histogram({
      name: 'flux_reducer_batch_records',
      help: 'Log records covered by one reducer commit',
      buckets: [...BATCH_RECORDS_BUCKETS],
      registers,
    });
    const fenced = new Counter({
      name: 'flux_reducer_fenced_total',
      help: 'Times a reducer found a newer owner of its partition and stopped (detected_by: commit refused by the fence, or claim check)',
      labelNames: ['partition', 'detected_by'],
      registers,
    });
    const handovers = new Counter({
      name: 'flux_reducer_handovers_total',
      help: 'Partitions handed over with elastic reducers: acquired by this process, released by it (rebalance, shutdown), or lost (fenced, lease ran out)',
      labelNames: ['direction'],
      registers,
    });
    new Gauge({
      name: 'flux_reducer_partitions_owned',
      help: 'Partitions this process applies under its claim now',
      registers,
      collect() {
        this.set(status.partitionsOwned);
      },
    });
    new Gauge({
      name: 'flux_reducer_lag_events',
      help: "Records of the partition not yet applied: the log's end offset minus the offset after the last applied record (left out when the log does not answer in time)",
      labelNames: ['partition'],
      registers,
      async collect() {
        this.reset();
        let lags: readonly PartitionLag[];
        try {
          lags = await withTimeout(status.lag(), LAG_SCRAPE_TIMEOUT_MS);
        } catch {
          // The log is unreachable or slow: no figure beats a stale one.
          return;
        }
        for (const { partition, records } of lags) this.set({ partition: String(partition) }, records);
      },
    });
    this.reducers = {
      committed: (partition, events, commit) => {
        applied.inc({ partition: String(partition) }, events);
        commits.observe(commit.seconds);
        batches.observe(commit.records);
      },
      fenced: (partition, detectedBy) => fenced.inc({ partition: String(partition), detected_by: detectedBy }),
      refused: (reason) => refused.inc({ reason }),
      handover: (direction) => handovers.inc({ direction }),
      expired: (count) => expired.inc(count),
    };
    return this.reducers;
  }

  /** A gateway's calls to the reducer shards. */
  shardCallObserver(): ShardCallObserver {
    if (this.shardCalls !== undefined) return this.shardCalls;
    const calls = new Histogram({
      name: 'flux_grpc_client_duration_seconds',
      help: 'Unary gRPC calls from this gateway to the reducer shards, by method, shard and status',
      labelNames: ['method', 'shard', 'code'],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers: [this.registry],
    });
    // Elastic reducers' addresses come and go: past a bound, further ones share one label.
    const shards = new Set<string>();
    const label = (shard: number | string): string => {
      const name = String(shard);
      if (shards.has(name)) return name;
      if (shards.size >= MAX_SHARD_LABELS) return 'other';
      shards.add(name);
      return name;
    };
    this.shardCalls = {
      shardCallEnded: ({ method, shard, code, seconds }) => calls.observe({ method, shard: label(shard), code }, seconds),
    };
    return this.shardCalls;
  }
}
