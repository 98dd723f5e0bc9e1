/**
 * Publish → WebSocket delivery latency. `subscribers` connections each subscribe to their own
 * `entitiesPerSubscriber` entities; a publisher sends single-event POSTs open loop at the
 * offered rate, round-robin over all those entities, so each event is delivered to exactly one
 * subscriber. The event's only property carries its sequence number and the time it was due
 * (epoch ms), and latency is the receive time minus that due time: a publisher that falls
 * behind its schedule counts against the latency, as the open-loop ingest runs do.
 */
import WebSocket from 'ws';
import type { DataDisk } from '../data-disk.js';
import { envelope } from '../entity-set.js';
import { LatencyRecorder, type LatencySummary } from '../latency-recorder.js';
import type { LoadProbeSummary } from '../load-probe.js';
import { runOpenLoop, type OpenLoopResult } from '../open-loop.js';
import { delay } from '../process-group.js';
import type { ScenarioContext } from './scenario-context.js';

/** The event's one property: the server sends one state_update per property. */
const PROPERTY = 'due';

export interface WebSocketRateResult {
  readonly rate: number;
  readonly durationSeconds: number;
  /** The publisher's open-loop run (its POST latency included). */
  readonly publish: OpenLoopResult;
  /** Events the server accepted (200), each of which must reach its subscriber once. */
  readonly expected: number;
  /** Accepted events that reached their subscriber. */
  readonly delivered: number;
  /** Events delivered although their POST got no 200 before the run ended (still counted in the latency). */
  readonly deliveredUnacknowledged: number;
  readonly duplicates: number;
  /** Accepted events that never arrived. */
  readonly lost: number;
  readonly latencyMs: LatencySummary;
  /** The publish run's probe; it covers the subscribers too, which share the load process. */
  readonly probe: LoadProbeSummary;
}

export interface WebSocketResult {
  /** Where the server kept its data (fsync cost differs by far between tmpfs and a disk); null when unknown. */
  readonly dataDisk: DataDisk | null;
  readonly subscribers: number;
  readonly entitiesPerSubscriber: number;
  readonly rates: readonly WebSocketRateResult[];
}

interface StateUpdate {
  readonly type: string;
  readonly property?: string;
  readonly value?: unknown;
}

async function connect(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolveOpen, reject) => {
    socket.once('open', () => resolveOpen());
    socket.once('error', reject);
  });
  return socket;
}

async function measureRate(context: ScenarioContext, rate: number): Promise<WebSocketRateResult> {
  const { deployment, profile } = context;
  const { subscribers, entitiesPerSubscriber, rateSeconds } = profile.websocket;
  const prefix = `${context.idPrefix}ws${rate}/`;
  const entityOf = (subscriber: number, slot: number): string => `${prefix}s${subscriber}/e${slot}`;
  const wsUrl = `${deployment.baseUrl.replace(/^http/, 'ws')}/api/ws`;
  const total = Math.round(rate * rateSeconds);
  const seen = new Uint8Array(total);
  const acknowledged = new Uint8Array(total);
  const latency = new LatencyRecorder();
  const warmedUp = new Set<number>();
  let delivered = 0;
  let deliveredAcknowledged = 0;
  let duplicates = 0;

  const sockets = await Promise.all(Array.from({ length: subscribers }, () => connect(wsUrl)));
  try {
    sockets.forEach((socket, subscriber) => {
      socket.on('message', (data) => {
        const received = performance.timeOrigin + performance.now();
        const message = JSON.parse(data.toString()) as StateUpdate;
        if (message.type !== 'state_update' || message.property !== PROPERTY || !Array.isArray(message.value)) return;
        const [index, due] = message.value as [number, number];
        if (index < 0) {
          warmedUp.add(subscriber);
          return;
        }
        if (seen[index] === 1) {
          duplicates++;
          return;
        }
        seen[index] = 1;
        delivered++;
        if (acknowledged[index] === 1) deliveredAcknowledged++;
        latency.record(received - due);
      });
      for (let slot = 0; slot < entitiesPerSubscriber; slot++)
        socket.send(JSON.stringify({ type: 'subscribe', entity_id: entityOf(subscriber, slot) }));
    });

    // Subscriptions have no acknowledgement: one event per subscriber, waited for, proves each
    // is in place (and warms the path up) before anything is measured.
    const warmUpDeadline = performance.now() + 20_000;
    while (warmedUp.size < subscribers) {
      if (performance.now() > warmUpDeadline) throw new Error(`only ${warmedUp.size} of ${subscribers} subscribers received their warm-up event`);
      const waiting = Array.from({ length: subscribers }, (_, subscriber) => subscriber).filter((subscriber) => !warmedUp.has(subscriber));
      await Promise.all(
        waiting.map((subscriber) =>
          fetch(`${deployment.baseUrl}/api/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(envelope(entityOf(subscriber, 0), { [PROPERTY]: [-1, 0] })),
          }).then((response) => response.arrayBuffer()),
        ),
      );
      const retryAt = performance.now() + 500;
      while (warmedUp.size < subscribers && performance.now() < retryAt) await delay(10);
    }

    const publish = await runOpenLoop({
      baseUrl: deployment.baseUrl,
      path: '/api/events',
      rate,
      durationSeconds: rateSeconds,
      body: (index, dueEpochMs) => {
        const subscriber = index % subscribers;
        const slot = Math.floor(index / subscribers) % entitiesPerSubscriber;
        return JSON.stringify(envelope(entityOf(subscriber, slot), { [PROPERTY]: [index, dueEpochMs] }));
      },
      onOk: (index) => {
        acknowledged[index] = 1;
        if (seen[index] === 1) deliveredAcknowledged++;
      },
      drainTimeoutMs: Math.max(5_000, rateSeconds * 1000),
      serverCpuSeconds: deployment.cpuSeconds,
    });
    // Deliveries trail the last answers; give them up to 5 s (they normally take milliseconds).
    const graceEnd = performance.now() + 5000;
    while (deliveredAcknowledged < publish.ok && performance.now() < graceEnd) await delay(10);
    return {
      rate,
      durationSeconds: rateSeconds,
      publish,
      expected: publish.ok,
      delivered: deliveredAcknowledged,
      deliveredUnacknowledged: delivered - deliveredAcknowledged,
      duplicates,
      lost: publish.ok - deliveredAcknowledged,
      latencyMs: latency.summary(),
      probe: publish.probe,
    };
  } finally {
    for (const socket of sockets) socket.terminate();
  }
}

export async function websocketDelivery(context: ScenarioContext): Promise<WebSocketResult> {
  const { subscribers, entitiesPerSubscriber, rates, rateSeconds } = context.profile.websocket;
  const results: WebSocketRateResult[] = [];
  for (const rate of rates) {
    context.log(`websocket: ${subscribers} subscribers, publishing at ${rate}/s for ${rateSeconds} s`);
    results.push(await measureRate(context, rate));
  }
  return { dataDisk: context.deployment.dataDisk ?? null, subscribers, entitiesPerSubscriber, rates: results };
}
