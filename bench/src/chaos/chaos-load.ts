/**
 * The chaos run's load: a fixed number of workers, each issuing one request at a time (single
 * events, batches, deletes) against entities that have no request in flight, and recording
 * every outcome in the entity's log (chaos-model.ts). Bounded by the worker count and the
 * request timeout; all to one base URL on loopback.
 */
import { propertyFor, type ChaosOp, type EventOp } from './chaos-model.js';
import { outcomeOfStatus, request } from './http-outcome.js';
import type { SeededRandom } from './random.js';

export interface ChaosEntity {
  readonly id: string;
  readonly ops: ChaosOp[];
  nextSeq: number;
  busy: boolean;
}

export interface LoadCounters {
  singles: number;
  batches: number;
  deletes: number;
  /** Failures by reason (status or error), for the run's log. */
  readonly failures: Map<string, number>;
}

const STREAM = 'chaos';

export function createEntities(runId: string, count: number): ChaosEntity[] {
  return Array.from({ length: count }, (_, index) => ({ id: `chaos/${runId}/e${String(index).padStart(4, '0')}`, ops: [], nextSeq: 1, busy: false }));
}

export function newEvent(entity: ChaosEntity, runId: string): { op: EventOp; envelope: Record<string, unknown> } {
  const seq = entity.nextSeq++;
  const eventId = `${runId}-${entity.id.split('/').pop()}-${seq}`;
  const op: EventOp = { kind: 'event', seq, eventId, outcome: 'unknown' };
  entity.ops.push(op);
  return {
    op,
    envelope: {
      eventId,
      stream: STREAM,
      source: 'chaos-client',
      timestamp: Date.now(),
      payload: { entity_id: entity.id, properties: { [propertyFor(seq)]: eventId } },
    },
  };
}

export class ChaosLoad {
  readonly counters: LoadCounters = { singles: 0, batches: 0, deletes: 0, failures: new Map() };

  constructor(
    private readonly baseUrl: string,
    private readonly runId: string,
    private readonly entities: readonly ChaosEntity[],
    private readonly random: SeededRandom,
  ) {}

  /**
   * Runs `workers` loops until `until` settles; each finishes its request in flight. Together
   * they issue at most `opsPerSecond` requests a second.
   */
  async run(workers: number, opsPerSecond: number, until: Promise<void>): Promise<void> {
    const intervalMs = (1000 * workers) / opsPerSecond;
    let stopped = false;
    const stop = (): void => {
      stopped = true;
    };
    void until.then(stop, stop);
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (!stopped) {
          const next = performance.now() + intervalMs;
          const failuresBefore = this.failed;
          await this.step();
          // While the server is down, requests fail at once: wait a little longer then.
          const backOff = this.failed > failuresBefore ? 100 : 0;
          await new Promise((resolveWait) => setTimeout(resolveWait, Math.max(backOff, next - performance.now())));
        }
      }),
    );
  }

  /** Sends events to `entity` until one is acknowledged (each try is a new event). */
  async settle(entity: ChaosEntity, deadline: number): Promise<EventOp | undefined> {
    while (Date.now() < deadline) {
      const { op, envelope } = newEvent(entity, this.runId);
      await this.postSingle(op, envelope);
      if (op.outcome === 'acked') return op;
      await new Promise((resolveWait) => setTimeout(resolveWait, 250));
    }
    return undefined;
  }

  private async step(): Promise<void> {
    const roll = this.random.next();
    const picked = this.claim(roll < 0.3 ? this.random.int(2, 6) : 1);
    if (picked.length === 0) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 5));
      return;
    }
    try {
      if (roll < 0.3) await this.batch(picked);
      else if (roll < 0.4) await this.delete(picked[0]!);
      else {
        const { op, envelope } = newEvent(picked[0]!, this.runId);
        this.counters.singles += 1;
        await this.postSingle(op, envelope);
      }
    } finally {
      for (const entity of picked) entity.busy = false;
    }
  }

  private claim(count: number): ChaosEntity[] {
    const picked: ChaosEntity[] = [];
    for (let tries = 0; tries < count * 4 && picked.length < count; tries++) {
      const entity = this.random.pick(this.entities);
      if (entity.busy) continue;
      entity.busy = true;
      picked.push(entity);
    }
    return picked;
  }

  private failed = 0;

  private failure(reason: string): void {
    this.failed += 1;
    this.counters.failures.set(reason, (this.counters.failures.get(reason) ?? 0) + 1);
  }

  private async postSingle(op: EventOp, envelope: Record<string, unknown>): Promise<void> {
    const answer = await request(`${this.baseUrl}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(envelope),
    });
    if ('failed' in answer) {
      op.outcome = answer.failed;
      this.failure(answer.reason);
      return;
    }
    op.outcome = outcomeOfStatus(answer.status);
    if (op.outcome !== 'acked') this.failure(`POST /api/events ${answer.status} ${JSON.stringify(answer.body).slice(0, 120)}`);
  }

  /** A batch: one event for each picked entity, and sometimes a second one for the first. */
  private async batch(picked: readonly ChaosEntity[]): Promise<void> {
    this.counters.batches += 1;
    const events = picked.map((entity) => newEvent(entity, this.runId));
    if (this.random.next() < 0.3) events.push(newEvent(picked[0]!, this.runId));
    const answer = await request(`${this.baseUrl}/api/events/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: events.map((event) => event.envelope) }),
    });
    if ('failed' in answer) {
      for (const { op } of events) op.outcome = answer.failed;
      this.failure(answer.reason);
      return;
    }
    const outcome = outcomeOfStatus(answer.status);
    const results = (answer.body as { results?: { eventId?: string; error?: string }[] } | undefined)?.results;
    if (outcome !== 'acked' || !Array.isArray(results) || results.length !== events.length) {
      for (const { op } of events) op.outcome = outcome === 'acked' ? 'unknown' : outcome;
      this.failure(`POST /api/events/batch ${answer.status} ${JSON.stringify(answer.body).slice(0, 120)}`);
      return;
    }
    events.forEach(({ op }, index) => {
      const result = results[index]!;
      // A failed element may still have reached the log (a timeout), so it counts as unknown.
      op.outcome = result.error === undefined && result.eventId === op.eventId ? 'acked' : 'unknown';
      if (result.error !== undefined) this.failure(`batch element: ${result.error.slice(0, 120)}`);
    });
  }

  private async delete(entity: ChaosEntity): Promise<void> {
    this.counters.deletes += 1;
    const op: ChaosOp = { kind: 'delete', outcome: 'unknown' };
    entity.ops.push(op);
    const answer = await request(`${this.baseUrl}/api/state/entities/${encodeURIComponent(entity.id)}`, { method: 'DELETE' });
    if ('failed' in answer) {
      op.outcome = answer.failed;
      this.failure(answer.reason);
      return;
    }
    op.outcome = outcomeOfStatus(answer.status);
    const eventId = (answer.body as { eventId?: unknown } | undefined)?.eventId;
    if (op.outcome === 'acked' && typeof eventId === 'string') op.eventId = eventId;
    if (op.outcome !== 'acked') this.failure(`DELETE ${answer.status} ${JSON.stringify(answer.body).slice(0, 120)}`);
  }
}
