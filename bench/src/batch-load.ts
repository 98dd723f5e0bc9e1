/**
 * Loads a set of entities with `POST /api/events/batch` and measures events per second from the
 * first request until the last event is materialised (visible through the query API).
 */
import { seqEvent, finalSeq, type EntitySet } from './entity-set.js';
import { HttpClient } from './http-client.js';
import { LoadProbe, type LoadProbeSummary } from './load-probe.js';
import { notePositions, waitMaterialised } from './materialised.js';

export interface BatchLoadOptions {
  readonly baseUrl: string;
  readonly set: EntitySet;
  /** Event i goes to entity i % set.count with seq i. */
  readonly events: number;
  readonly batchSize: number;
  /** Batch requests in flight at once. */
  readonly concurrency: number;
  readonly materialiseTimeoutMs: number;
  readonly serverCpuSeconds?: () => number;
  /** CPU seconds of the services the deployment relies on (the cluster's Kafka and Redis), when visible. */
  readonly servicesCpuSeconds?: () => number | undefined;
}

export interface BatchLoadResult {
  readonly batchSize: number;
  readonly events: number;
  readonly entities: number;
  readonly concurrency: number;
  readonly requests: number;
  /** Events the server answered as failed, plus every event of a non-200 batch. */
  readonly failedEvents: number;
  readonly non200Requests: number;
  /** From the first request until the last one was answered. */
  readonly ackSeconds: number;
  /** From the first request until every entity showed its last event. */
  readonly materialisedSeconds: number;
  /** events ÷ materialisedSeconds: the headline figure. */
  readonly eventsPerSecond: number;
  readonly ackedEventsPerSecond: number;
  /** List requests the materialisation check made (they load the server too). */
  readonly listRequests: number;
  /**
   * CPU seconds the services (Kafka, Redis) used from the first request until materialised;
   * null when the harness cannot see them. The deployment's own are in `probe.serverCpuSeconds`.
   */
  readonly servicesCpuSeconds?: number | null;
  readonly probe: LoadProbeSummary;
}

export async function batchLoad(options: BatchLoadOptions): Promise<BatchLoadResult> {
  const { set, events, batchSize, concurrency } = options;
  // Bodies are built before the clock starts, so serialising them does not compete with the server.
  const bodies: string[] = [];
  for (let start = 0; start < events; start += batchSize) {
    const batch = [];
    for (let seq = start; seq < Math.min(events, start + batchSize); seq++) batch.push(seqEvent(set, seq));
    bodies.push(JSON.stringify({ events: batch }));
  }
  const client = new HttpClient(options.baseUrl, concurrency + 4);
  let failedEvents = 0;
  let non200Requests = 0;
  let next = 0;
  const positions = new Map<number, number>();
  const probe = new LoadProbe(options.serverCpuSeconds);
  const servicesCpuAtStart = options.servicesCpuSeconds?.();
  const started = performance.now();
  try {
    const worker = async (): Promise<void> => {
      while (next < bodies.length) {
        const index = next++;
        const response = await client.post('/api/events/batch', bodies[index]!);
        if (response.status !== 200) {
          non200Requests++;
          failedEvents += Math.min(batchSize, events - index * batchSize);
          continue;
        }
        const answer = JSON.parse(response.body) as { failed: number; results?: { partition?: unknown; offset?: unknown }[] };
        failedEvents += answer.failed;
        notePositions(positions, answer.results ?? []);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const acknowledged = performance.now();
    // The entities that lost an event would never show their last one.
    if (failedEvents > 0) throw new Error(`${failedEvents} of ${events} events failed (${non200Requests} batch requests answered other than 200)`);
    const materialised = await waitMaterialised({
      client,
      set,
      expectedSeq: (index) => finalSeq(index, set.count, events),
      timeoutMs: options.materialiseTimeoutMs,
      // A server that answers without positions (an older Flux) is checked by listing alone.
      ...(positions.size === 0 ? {} : { positions }),
    });
    const servicesCpuAtEnd = options.servicesCpuSeconds?.();
    const servicesCpuSeconds =
      servicesCpuAtStart === undefined || servicesCpuAtEnd === undefined ? null : Math.round((servicesCpuAtEnd - servicesCpuAtStart) * 1000) / 1000;
    const ackSeconds = (acknowledged - started) / 1000;
    const materialisedSeconds = (materialised.at - started) / 1000;
    return {
      batchSize,
      events,
      entities: Math.min(set.count, events),
      concurrency,
      requests: bodies.length,
      failedEvents,
      non200Requests,
      ackSeconds: Math.round(ackSeconds * 1000) / 1000,
      materialisedSeconds: Math.round(materialisedSeconds * 1000) / 1000,
      eventsPerSecond: Math.round(events / materialisedSeconds),
      ackedEventsPerSecond: Math.round(events / ackSeconds),
      listRequests: materialised.listRequests,
      servicesCpuSeconds,
      probe: probe.stop(),
    };
  } finally {
    await client.close();
  }
}
