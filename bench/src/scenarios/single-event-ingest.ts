/**
 * Single-event `POST /api/events`: saturation throughput of Flux and of the bare Fastify
 * baseline under the same load and bodies, then open-loop latency at fixed offered rates.
 */
import { startBaseline } from '../baseline.js';
import { EntitySet, seqEvent } from '../entity-set.js';
import { HttpClient } from '../http-client.js';
import { waitMaterialised } from '../materialised.js';
import { runOpenLoop, type OpenLoopResult } from '../open-loop.js';
import { alternateSaturation, runSaturation, type AlternatingSaturation, type SaturationResult } from '../saturation.js';
import type { ScenarioContext } from './scenario-context.js';

export interface SingleEventIngestResult extends AlternatingSaturation {
  readonly fixedRate: readonly OpenLoopResult[];
}

/**
 * Distinct, valid events over a set of entities: event `seq` goes to entity seq % count. It
 * remembers, per entity, the last event the server acknowledged, which is what the server must
 * eventually show.
 */
class EventSequence {
  private nextSeq = 0;
  private readonly lastAcknowledged: Int32Array;

  constructor(private readonly set: EntitySet) {
    this.lastAcknowledged = new Int32Array(set.count).fill(-1);
  }

  take(): { readonly seq: number; readonly body: string } {
    const seq = this.nextSeq++;
    return { seq, body: JSON.stringify(seqEvent(this.set, seq)) };
  }

  acknowledge(seq: number): void {
    const index = seq % this.set.count;
    if (seq > this.lastAcknowledged[index]!) this.lastAcknowledged[index] = seq;
  }

  expectedSeq(index: number): number | undefined {
    const seq = this.lastAcknowledged[index]!;
    return seq < 0 ? undefined : seq;
  }
}

/**
 * Flux answers once an event is durable and applies it right after, so a saturation run can
 * leave a backlog; the next phase starts once it is applied, to measure one thing at a time.
 */
async function waitForBacklog(context: ScenarioContext, set: EntitySet, events: EventSequence): Promise<void> {
  const client = new HttpClient(context.deployment.baseUrl, 4);
  try {
    await waitMaterialised({
      client,
      set,
      expectedSeq: (index) => events.expectedSeq(index),
      timeoutMs: context.profile.ingest.backlogTimeoutSeconds * 1000,
    });
  } catch (error) {
    context.log(`ingest: the backlog was not applied (${error instanceof Error ? error.message : String(error)}); going on`);
  } finally {
    await client.close();
  }
}

/** Saturation load from a sequence: each request the next event, each success acknowledged. */
function saturate(baseUrl: string, events: EventSequence, context: ScenarioContext, serverCpuSeconds?: () => number): Promise<SaturationResult> {
  const parameters = context.profile.ingest;
  return runSaturation({
    baseUrl,
    method: 'POST',
    next: () => {
      const { seq, body } = events.take();
      return { path: '/api/events', body, tag: seq };
    },
    onOk: (seq) => events.acknowledge(seq),
    connections: parameters.connections,
    durationSeconds: parameters.saturationSeconds,
    ...(serverCpuSeconds === undefined ? {} : { serverCpuSeconds }),
  });
}

export async function singleEventIngest(context: ScenarioContext): Promise<SingleEventIngestResult> {
  const { deployment, profile, log } = context;
  const parameters = profile.ingest;
  const set = new EntitySet(`${context.idPrefix}ingest/`, parameters.entities, 100);
  const fluxEvents = new EventSequence(set);
  // The baseline gets the very same sequence of bodies.
  const baselineEvents = new EventSequence(set);
  const baselineServer = await startBaseline(context.repoRoot);
  let saturation: AlternatingSaturation;
  try {
    saturation = await alternateSaturation({
      rounds: parameters.rounds,
      connections: parameters.connections,
      label: 'ingest',
      log,
      baseline: () => saturate(baselineServer.baseUrl, baselineEvents, context),
      flux: () => saturate(deployment.baseUrl, fluxEvents, context, deployment.cpuSeconds),
      afterFlux: () => waitForBacklog(context, set, fluxEvents),
    });
  } finally {
    await baselineServer.stop();
  }
  const fixedRate: OpenLoopResult[] = [];
  for (const rate of parameters.rates) {
    log(`ingest: open loop at ${rate}/s for ${parameters.rateSeconds} s`);
    // Request i of this run carries event seqs[i].
    const seqs: number[] = [];
    fixedRate.push(
      await runOpenLoop({
        baseUrl: deployment.baseUrl,
        path: '/api/events',
        rate,
        durationSeconds: parameters.rateSeconds,
        body: (index) => {
          const { seq, body } = fluxEvents.take();
          seqs[index] = seq;
          return body;
        },
        onOk: (index) => fluxEvents.acknowledge(seqs[index]!),
        drainTimeoutMs: Math.max(5_000, parameters.rateSeconds * 1000),
        serverCpuSeconds: deployment.cpuSeconds,
      }),
    );
    await waitForBacklog(context, set, fluxEvents);
  }
  return { ...saturation, fixedRate };
}
