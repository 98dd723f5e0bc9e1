/**
 * What read-your-writes costs a publisher: `clients` closed-loop writers each publish events
 * one after another, first answered once appended (`POST /api/events`), then answered once
 * applied (`POST /api/events?wait=applied`, which also returns the entity's version). The
 * difference is the time from the log's acknowledgement to the reducer's commit being heard
 * by the process that answers (in the cluster, over the shards' outcome streams).
 */
import { envelope } from '../entity-set.js';
import { HttpClient } from '../http-client.js';
import { LatencyRecorder, type LatencySummary } from '../latency-recorder.js';
import type { ScenarioContext } from './scenario-context.js';

export interface WaitAppliedRun {
  readonly latencyMs: LatencySummary;
  readonly requestsPerSecond: number;
  /** Answers other than 200. */
  readonly failed: number;
}

export interface WaitAppliedResult {
  readonly clients: number;
  readonly requestsPerClient: number;
  /** Answered once appended. */
  readonly appended: WaitAppliedRun;
  /** Answered once applied. */
  readonly applied: WaitAppliedRun;
}

async function run(context: ScenarioContext, path: string, label: string, requestsPerClient: number): Promise<WaitAppliedRun> {
  const { clients } = context.profile.waitApplied;
  const http = new HttpClient(context.deployment.baseUrl, clients);
  const latency = new LatencyRecorder();
  let failed = 0;
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        // Each writer keeps to its own few entities, as an agent updating its own state would.
        for (let seq = 0; seq < requestsPerClient; seq++) {
          const body = JSON.stringify(envelope(`${context.idPrefix}wait-${label}/c${client}/e${seq % 10}`, { seq }));
          const sent = performance.now();
          const response = await http.post(path, body);
          latency.record(performance.now() - sent);
          if (response.status !== 200) failed++;
        }
      }),
    );
  } finally {
    await http.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { latencyMs: latency.summary(), requestsPerSecond: Math.round((clients * requestsPerClient) / seconds), failed };
}

export async function waitApplied(context: ScenarioContext): Promise<WaitAppliedResult> {
  const { clients, requestsPerClient, warmUpPerClient } = context.profile.waitApplied;
  context.log(`wait=applied: ${clients} writers × ${requestsPerClient} events, answered once appended, then once applied`);
  await run(context, '/api/events', 'warm-up', warmUpPerClient);
  await run(context, '/api/events?wait=applied', 'warm-up', warmUpPerClient);
  const appended = await run(context, '/api/events', 'appended', requestsPerClient);
  const applied = await run(context, '/api/events?wait=applied', 'applied', requestsPerClient);
  return { clients, requestsPerClient, appended, applied };
}
