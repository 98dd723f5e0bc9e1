/**
 * One large entity (issue 9, defect 2): one event with as many properties as the default entity
 * bound allows, then batches of tiny `{"tick": i}` events to the same id, each sent once the
 * previous one is acknowledged. Reports how long the ticks take to become visible, how GET
 * /health answered meanwhile, and the worst event-loop delay of any server process (the
 * embedded server; every reducer and gateway of the cluster) over the scenario.
 */
import { DEFAULT_ENTITY_BOUND } from '@flux/domain';
import { HttpClient } from '../http-client.js';
import { LatencyRecorder, type LatencySummary } from '../latency-recorder.js';
import { LoadProbe, type LoadProbeSummary } from '../load-probe.js';
import { delay } from '../process-group.js';
import type { ScenarioContext } from './scenario-context.js';

export interface LargeEntityResult {
  /** Properties of the entity once the large event is applied (the ticks add none). */
  readonly properties: number;
  readonly largeEventBytes: number;
  /** From POSTing the large event until it was acknowledged, and until it was visible. */
  readonly largeEventAckMs: number;
  readonly largeEventVisibleMs: number;
  readonly batches: number;
  readonly batchSize: number;
  /** Acknowledgement time of each tick batch. */
  readonly batchAckMs: LatencySummary;
  /** From the first tick batch until the entity showed the last tick. */
  readonly ticksVisibleSeconds: number;
  readonly ticksPerSecond: number;
  /** GET /health, asked every HEALTH_INTERVAL_MS from the large event until the last tick was visible. */
  readonly health: { readonly latencyMs: LatencySummary; readonly failures: number };
  /**
   * The worst event-loop delay of any server process, from their /metrics, while the large
   * event was taken in and applied, and while the ticks were; null when unknown.
   */
  readonly serverEventLoopDelayMaxMs: { readonly largeEvent: number | null; readonly ticks: number | null };
  /** The process each of those delays was seen in (`flux` when embedded, e.g. `reducer-1` in the cluster). */
  readonly serverEventLoopDelayProcess?: { readonly largeEvent: string | null; readonly ticks: string | null };
  /** Why the delay is missing (results of runs whose cluster reducers served no /metrics). */
  readonly probe: LoadProbeSummary;
}

const HEALTH_INTERVAL_MS = 50;

/** Asks GET /health until stopped; a non-200 or an error counts as a failure. */
function watchHealth(client: HttpClient): { stop: () => Promise<{ latencyMs: LatencySummary; failures: number }> } {
  const recorder = new LatencyRecorder();
  let failures = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        if ((await client.get('/health')).status !== 200) failures++;
      } catch {
        failures++;
      }
      recorder.record(performance.now() - started);
      await delay(HEALTH_INTERVAL_MS);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { latencyMs: recorder.summary(), failures };
    },
  };
}

async function postOk(client: HttpClient, path: string, body: string): Promise<void> {
  const response = await client.post(path, body);
  if (response.status !== 200) throw new Error(`POST ${path}: HTTP ${response.status} ${response.body.slice(0, 200)}`);
  if (path.endsWith('/batch') && (JSON.parse(response.body) as { failed: number }).failed > 0)
    throw new Error(`POST ${path}: events failed: ${response.body.slice(0, 200)}`);
}

/** Polls the entity until `done` holds; resolves with performance.now() at that answer. */
async function visibleAt(client: HttpClient, id: string, done: (properties: Record<string, unknown>) => boolean, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  const path = `/api/state/entities/${encodeURIComponent(id)}`;
  for (;;) {
    const response = await client.get(path);
    if (response.status === 200 && done((JSON.parse(response.body) as { properties: Record<string, unknown> }).properties)) return performance.now();
    if (performance.now() > deadline) throw new Error(`${id} did not become visible within ${timeoutMs} ms (last: HTTP ${response.status})`);
    await delay(10);
  }
}

const envelope = (id: string, properties: Record<string, unknown>): Record<string, unknown> => ({
  stream: 'bench.large',
  source: 'bench',
  timestamp: Date.now(),
  payload: { entity_id: id, properties },
});

export async function largeEntity(context: ScenarioContext): Promise<LargeEntityResult> {
  const { deployment, profile, log } = context;
  const { batches, batchSize, visibleTimeoutSeconds } = profile.largeEntity;
  const id = `${context.idPrefix}large/entity`;
  // One short of the bound, so `tick` makes the entity exactly as large as it may be.
  const properties = DEFAULT_ENTITY_BOUND.maxProperties;
  const large: Record<string, unknown> = {};
  for (let index = 0; index < properties - 1; index++) large[`p${index}`] = index;
  const largeBody = JSON.stringify(envelope(id, large));
  const tickBodies: string[] = [];
  for (let batch = 0; batch < batches; batch++) {
    const events = Array.from({ length: batchSize }, (_, offset) => envelope(id, { tick: batch * batchSize + offset }));
    tickBodies.push(JSON.stringify({ events }));
  }
  const lastTick = batches * batchSize - 1;

  // Every process of the deployment (in the cluster the reducers apply the events), through the
  // scenario's window, which keeps the worst of its own scrapes too.
  const { serverLoop } = context;
  const client = new HttpClient(deployment.baseUrl, 4);
  try {
    // Opens the window the scrape after the load reads.
    await serverLoop?.scrape();
    log(`large entity: one event with ${properties - 1} properties (${largeBody.length} bytes), then ${batches} batches of ${batchSize} ticks`);
    const probe = new LoadProbe(deployment.cpuSeconds);
    const health = watchHealth(client);
    let healthStopped = false;
    try {
      const largeStarted = performance.now();
      await postOk(client, '/api/events', largeBody);
      const largeAcked = performance.now();
      const largeVisible = await visibleAt(client, id, (current) => current[`p${properties - 2}`] !== undefined, visibleTimeoutSeconds * 1000);
      const largeEventLoopDelay = await serverLoop?.scrape();

      const acks = new LatencyRecorder();
      const ticksStarted = performance.now();
      for (const body of tickBodies) {
        const sent = performance.now();
        await postOk(client, '/api/events/batch', body);
        acks.record(performance.now() - sent);
      }
      const ticksVisible = await visibleAt(client, id, (current) => current.tick === lastTick, visibleTimeoutSeconds * 1000);
      const healthFigures = await health.stop();
      healthStopped = true;
      const ticksLoopDelay = await serverLoop?.scrape();
      const ticksVisibleSeconds = (ticksVisible - ticksStarted) / 1000;
      return {
        properties,
        largeEventBytes: largeBody.length,
        largeEventAckMs: Math.round((largeAcked - largeStarted) * 100) / 100,
        largeEventVisibleMs: Math.round((largeVisible - largeStarted) * 100) / 100,
        batches,
        batchSize,
        batchAckMs: acks.summary(),
        ticksVisibleSeconds: Math.round(ticksVisibleSeconds * 1000) / 1000,
        ticksPerSecond: Math.round((lastTick + 1) / ticksVisibleSeconds),
        health: healthFigures,
        serverEventLoopDelayMaxMs: { largeEvent: largeEventLoopDelay?.maxMs ?? null, ticks: ticksLoopDelay?.maxMs ?? null },
        serverEventLoopDelayProcess: { largeEvent: largeEventLoopDelay?.process ?? null, ticks: ticksLoopDelay?.process ?? null },
        probe: probe.stop(),
      };
    } finally {
      if (!healthStopped) await health.stop();
    }
  } finally {
    await client.close();
  }
}
