import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IngestObserver } from '../ingest/ingest-service.js';

/** Prometheus metrics of one Flux process (`GET /metrics`). */
export class FluxMetrics implements IngestObserver {
  readonly registry = new Registry();
  private readonly accepted: Counter;
  private readonly rejected: Counter<'reason'>;
  private readonly applied: Counter<'partition'>;
  private readonly refused: Counter<'reason'>;
  readonly websocketConnections: Gauge;
  readonly websocketSlowConsumers: Counter;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(collect: { entities: () => Promise<number> } | undefined = undefined) {
    collectDefaultMetrics({ register: this.registry, prefix: 'flux_process_' });
    this.accepted = new Counter({ name: 'flux_events_accepted_total', help: 'Events durably appended to the log', registers: [this.registry] });
    this.rejected = new Counter({
      name: 'flux_events_rejected_total',
      help: 'Events refused by the ingest path, by reason',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.applied = new Counter({
      name: 'flux_events_applied_total',
      help: 'Events applied to state by this process, by partition',
      labelNames: ['partition'],
      registers: [this.registry],
    });
    this.refused = new Counter({
      name: 'flux_events_refused_total',
      help: 'Acknowledged events the reducer did not apply, by reason (entity_limit: the entity would exceed its bound; version_conflict: the event condition did not hold)',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.websocketConnections = new Gauge({ name: 'flux_websocket_connections', help: 'Open WebSocket connections', registers: [this.registry] });
    this.websocketSlowConsumers = new Counter({
      name: 'flux_websocket_slow_consumer_disconnects_total',
      help: 'WebSocket clients disconnected because they did not keep up',
      registers: [this.registry],
    });
    this.httpDuration = new Histogram({
      name: 'flux_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
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

  eventsAccepted(count: number): void {
    this.accepted.inc(count);
  }

  eventsRejected(reason: string, count: number): void {
    this.rejected.inc({ reason }, count);
  }

  eventsApplied(partition: number, count: number): void {
    this.applied.inc({ partition: String(partition) }, count);
  }

  eventsRefused(reason: string): void {
    this.refused.inc({ reason });
  }
}
