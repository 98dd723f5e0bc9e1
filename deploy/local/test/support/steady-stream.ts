/**
 * A steady stream of single events against a running deployment, with a ledger of what was
 * acknowledged, and the check that afterwards every acknowledged event was applied exactly
 * once: each entity's history holds every acknowledged sequence number once, and its version
 * counts them. Shared by the failure and scaling suites.
 */
import { expect } from 'vitest';
import { waitFor } from '@flux/core/testing';
import { partitionFor } from '@flux/domain';

export interface SteadyStreamOptions {
  readonly baseUrl: string;
  /** Entity ids are `<prefix>/e<i>`. */
  readonly prefix: string;
  readonly entities: number;
  /** Concurrent writers (default 2), each pausing `pauseMs` (default 5) between events. */
  readonly workers?: number;
  readonly pauseMs?: number;
  /**
   * Publish with `wait=applied`: an answer then means the event was applied, so the longest
   * answer per partition is how long the partition stalled (see `stalls`).
   */
  readonly waitApplied?: { readonly partitionCount: number; readonly timeoutMs: number };
}

export class SteadyStream {
  /** Per entity: sequence numbers acknowledged (appended), and those whose outcome is unknown. */
  private readonly acked: Set<number>[];
  private readonly unknown: Set<number>[];
  private readonly next: number[];
  /** Per partition: the longest answer to a `wait=applied` publish, and when it was sent. */
  private readonly longest = new Map<number, { ms: number; at: number }>();
  private streaming = false;
  private running: Promise<void> | undefined;

  constructor(private readonly options: SteadyStreamOptions) {
    this.acked = Array.from({ length: options.entities }, () => new Set<number>());
    this.unknown = Array.from({ length: options.entities }, () => new Set<number>());
    this.next = new Array<number>(options.entities).fill(1);
  }

  entityId(i: number): string {
    return `${this.options.prefix}/e${i}`;
  }

  get ackedTotal(): number {
    return this.acked.reduce((sum, set) => sum + set.size, 0);
  }

  get unknownTotal(): number {
    return this.unknown.reduce((sum, set) => sum + set.size, 0);
  }

  start(): void {
    this.streaming = true;
    let i = 0;
    const worker = async (): Promise<void> => {
      while (this.streaming) {
        await this.publish(i++ % this.options.entities);
        await new Promise((resolveTick) => setTimeout(resolveTick, this.options.pauseMs ?? 5));
      }
    };
    this.running = Promise.all(Array.from({ length: this.options.workers ?? 2 }, worker)).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.streaming = false;
    await this.running;
  }

  /** Resolves once `events` more events were acknowledged. */
  async waitForProgress(events: number, what: string, timeoutMs = 60_000): Promise<void> {
    const target = this.ackedTotal + events;
    await waitFor(() => this.ackedTotal >= target, { timeoutMs, what });
  }

  /** Forgets the longest answers so far (to measure one phase). */
  resetStalls(): void {
    this.longest.clear();
  }

  /** Per partition, the longest `wait=applied` answer since the last reset (ms), partition order. */
  stalls(): { partition: number; ms: number }[] {
    return [...this.longest.entries()].sort(([a], [b]) => a - b).map(([partition, { ms }]) => ({ partition, ms: Math.round(ms) }));
  }

  private async publish(i: number): Promise<void> {
    const seq = this.next[i]!++;
    const wait = this.options.waitApplied;
    const query = wait === undefined ? '' : `?wait=applied&timeout_ms=${wait.timeoutMs}`;
    const started = performance.now();
    try {
      const response = await fetch(`${this.options.baseUrl}/api/events${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          stream: 'steady',
          source: 'steady-stream',
          timestamp: Date.now(),
          payload: { entity_id: this.entityId(i), properties: { seq } },
        }),
        signal: AbortSignal.timeout(20_000 + (wait?.timeoutMs ?? 0)),
      });
      await response.arrayBuffer();
      // 504: appended, not applied within the wait (it still must be applied once).
      if (response.status === 200 || (wait !== undefined && response.status === 504)) this.acked[i]!.add(seq);
      else if (response.status >= 500) this.unknown[i]!.add(seq);
      else throw new Error(`unexpected ${response.status} for ${this.entityId(i)}`);
      if (wait !== undefined && (response.status === 200 || response.status === 504)) {
        const partition = partitionFor(this.entityId(i), wait.partitionCount);
        const ms = performance.now() - started;
        if (ms > (this.longest.get(partition)?.ms ?? -1)) this.longest.set(partition, { ms, at: Date.now() });
      }
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('unexpected')) throw error;
      this.unknown[i]!.add(seq); // connection cut: the append may or may not have happened
    }
  }

  /** Every acknowledged event applied exactly once, and nothing applied that was never sent. */
  async expectExactlyOnce(): Promise<void> {
    for (let i = 0; i < this.options.entities; i++) {
      const acked = this.acked[i]!;
      const unknown = this.unknown[i]!;
      const id = encodeURIComponent(this.entityId(i));
      // The last acknowledged (or possibly appended) sequence number must be applied.
      const highest = Math.max(...acked, ...unknown);
      let history: number[] = [];
      let status = 0;
      const complete = (): boolean => history.includes(highest) || [...acked].every((seq) => history.includes(seq));
      await waitFor(
        async () => {
          const response = await fetch(`${this.options.baseUrl}/api/events?entity=${id}&limit=500`);
          status = response.status;
          if (status !== 200) return false;
          const events = (await response.json()) as { payload: { properties: { seq: number } } }[];
          history = events.map((event) => event.payload.properties.seq);
          return complete();
        },
        { timeoutMs: 30_000, what: `${this.entityId(i)} to catch up` },
      ).catch(() => undefined);
      // Past the wait, the assertions below say what is missing.
      expect(status, `${this.entityId(i)}: history read`).toBe(200);
      expect(new Set(history).size, `${this.entityId(i)}: an event was applied twice`).toBe(history.length);
      for (const seq of acked) expect(history, `${this.entityId(i)}: acknowledged seq ${seq} is missing`).toContain(seq);
      for (const seq of history) expect(acked.has(seq) || unknown.has(seq), `${this.entityId(i)}: seq ${seq} was never sent`).toBe(true);
      const entity = (await (await fetch(`${this.options.baseUrl}/api/state/entities/${id}`)).json()) as {
        version: number;
        properties: { seq: number };
      };
      expect(entity.version, `${this.entityId(i)}: version counts the applied events`).toBe(history.length);
      expect(entity.properties.seq).toBe(Math.max(...history));
    }
  }
}
