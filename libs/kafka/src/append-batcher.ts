import { ErrorCode, FluxError, type LogPosition } from '@flux/domain';
import type { AppendRecord } from '@flux/core';
import { errorMessage } from './kafka-client.js';

/** One record as it goes to the producer (key and value already UTF-8 encoded). */
export interface ProduceMessage {
  readonly partition: number;
  readonly key: Buffer;
  readonly value: Buffer;
  /** Epoch milliseconds, as a string (what kafkajs wants). */
  readonly timestamp: string;
}

/**
 * Sends one produce request's worth of messages and resolves with the base offset the log
 * assigned to each partition present: the messages of one partition get consecutive offsets
 * from there, in the order given.
 */
export type ProduceFn = (messages: readonly ProduceMessage[]) => Promise<ReadonlyMap<number, number>>;

export interface AppendBatcherLimits {
  /** Most records in one produce request. */
  readonly maxBatchRecords: number;
  /**
   * Most bytes of one partition in one produce request: Kafka stores a partition's share of a
   * request as one record batch, which must fit the topic's max.message.bytes (see TOPIC_MAX_MESSAGE_BYTES).
   */
  readonly maxPartitionBytes: number;
  /** Most bytes in one produce request over all partitions. */
  readonly maxRequestBytes: number;
  /** Largest single record (key + value); larger ones are refused before anything is sent. */
  readonly maxRecordBytes: number;
  /** Records accepted but not yet acknowledged; beyond this, append() fails fast (overload). */
  readonly maxPendingRecords: number;
  /** A caller is answered with an error when its records are not acknowledged within this time. */
  readonly appendTimeoutMs: number;
}

/**
 * Largest record batch the topic accepts: Flux creates its topic with this `max.message.bytes`,
 * so that events up to the API's body limits (1 MiB single, 10 MiB batch by default) fit.
 */
export const TOPIC_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export const DEFAULT_APPEND_LIMITS: AppendBatcherLimits = {
  maxBatchRecords: 10_000,
  // Headroom below the topic limit for the record batch framing.
  maxPartitionBytes: TOPIC_MAX_MESSAGE_BYTES - 64 * 1024,
  maxRequestBytes: 32 * 1024 * 1024,
  maxRecordBytes: TOPIC_MAX_MESSAGE_BYTES - 64 * 1024,
  maxPendingRecords: 200_000,
  appendTimeoutMs: 30_000,
};

/** What one produce request carried; for metrics and tests. */
export interface SendStats {
  readonly records: number;
  /** append() calls with records in this request (a large call may span several requests). */
  readonly calls: number;
  readonly bytes: number;
  readonly durationMs: number;
  readonly error?: unknown;
}

/** Bytes a record adds to a record batch beyond key and value (varints, attributes, deltas). */
const RECORD_OVERHEAD = 32;

interface PendingCall {
  readonly messages: readonly (ProduceMessage & { readonly size: number })[];
  readonly positions: LogPosition[];
  /** Messages handed to a produce request so far. */
  sent: number;
  /** Messages whose produce request has settled (acknowledged or failed). */
  settledMessages: number;
  /** Messages that will ever be sent (shrinks when the call fails or times out). */
  limit: number;
  done: boolean;
  readonly resolve: (positions: readonly LogPosition[]) => void;
  readonly reject: (error: unknown) => void;
  timer: NodeJS.Timeout | undefined;
}

interface Slice {
  readonly call: PendingCall;
  readonly start: number;
  readonly end: number;
}

/**
 * Coalesces concurrent append() calls into few produce requests. Calls arriving while a
 * request is in flight (or in the same event-loop turn) wait and go out together in the next
 * one, up to the limits; only one request is in flight at a time, so records keep the order in
 * which the calls were made. Each caller gets its own positions; a failed request rejects only
 * the calls that had records in it.
 */
export class AppendBatcher {
  private readonly queue: PendingCall[] = [];
  private pending = 0;
  /**
   * `scheduled`: a send will start after this event-loop turn; `sending`: the one produce
   * request allowed in flight is out. Calls queued meanwhile wait for the next request.
   */
  private state: 'idle' | 'scheduled' | 'sending' = 'idle';
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly produce: ProduceFn,
    private readonly limits: AppendBatcherLimits,
    private readonly describe: (error: unknown) => Error,
    private readonly onSend?: (stats: SendStats) => void,
  ) {}

  /** Records accepted and not yet settled. */
  get pendingRecords(): number {
    return this.pending;
  }

  /** Queues validated records; resolves with their positions once Kafka acknowledged them all. */
  append(records: readonly AppendRecord[], timestamp: number): Promise<readonly LogPosition[]> {
    if (records.length === 0) return Promise.resolve([]);
    if (this.pending + records.length > this.limits.maxPendingRecords) {
      return Promise.reject(
        new FluxError(
          ErrorCode.LogUnavailable,
          `the Kafka append queue is full (${this.pending} records waiting, limit ${this.limits.maxPendingRecords})`,
          { retryAfterSeconds: 1 },
        ),
      );
    }
    const ts = String(timestamp);
    const messages = records.map(({ partition, key, value }) => {
      const keyBytes = Buffer.from(key, 'utf8');
      const valueBytes = Buffer.from(value, 'utf8');
      return { partition, key: keyBytes, value: valueBytes, timestamp: ts, size: keyBytes.length + valueBytes.length + RECORD_OVERHEAD };
    });
    const tooLarge = messages.find((m) => m.size - RECORD_OVERHEAD > this.limits.maxRecordBytes);
    if (tooLarge !== undefined) {
      return Promise.reject(
        new FluxError(
          ErrorCode.PayloadTooLarge,
          `a record of ${tooLarge.size - RECORD_OVERHEAD} bytes exceeds the log's limit of ${this.limits.maxRecordBytes} bytes`,
        ),
      );
    }

    return new Promise<readonly LogPosition[]>((resolve, reject) => {
      const call: PendingCall = {
        messages,
        positions: new Array<LogPosition>(messages.length),
        sent: 0,
        settledMessages: 0,
        limit: messages.length,
        done: false,
        resolve,
        reject,
        timer: undefined,
      };
      call.timer = setTimeout(() => this.timeOut(call), this.limits.appendTimeoutMs);
      this.queue.push(call);
      this.pending += messages.length;
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or in flight. */
  drained(): Promise<void> {
    if (this.state !== 'sending' && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.add(resolve));
  }

  /** Next produce request after this event-loop turn, so that same-turn callers join it. */
  private schedule(): void {
    if (this.state !== 'idle' || this.queue.length === 0) return;
    this.state = 'scheduled';
    setImmediate(() => {
      this.state = 'idle';
      void this.sendNext();
    });
  }

  private async sendNext(): Promise<void> {
    if (this.state === 'sending') return;
    const slices = this.take();
    if (slices.length === 0) {
      this.notifyIdle();
      return;
    }
    this.state = 'sending';
    const messages = slices.flatMap(({ call, start, end }) => call.messages.slice(start, end));
    const bytes = messages.reduce((sum, m) => sum + m.size, 0);
    const started = performance.now();
    let bases: ReadonlyMap<number, number> | undefined;
    let failure: unknown;
    try {
      bases = await this.produce(messages);
    } catch (error) {
      failure = error;
    }
    try {
      this.onSend?.({
        records: messages.length,
        calls: new Set(slices.map((s) => s.call)).size,
        bytes,
        durationMs: performance.now() - started,
        ...(failure === undefined ? {} : { error: failure }),
      });
    } catch {
      // An observer's failure is not the callers' problem.
    }
    if (bases !== undefined) this.acknowledge(slices, bases);
    else this.fail(slices, failure);
    this.state = 'idle';
    if (this.queue.length > 0) this.schedule();
    else this.notifyIdle();
  }

  /** Takes the next produce request's worth of records from the head of the queue. */
  private take(): Slice[] {
    const slices: Slice[] = [];
    const partitionBytes = new Map<number, number>();
    let records = 0;
    let bytes = 0;
    for (const call of this.queue) {
      const start = call.sent;
      let end = start;
      let full = false;
      while (end < call.limit) {
        const message = call.messages[end]!;
        const inPartition = partitionBytes.get(message.partition) ?? 0;
        // The first record always goes, whatever its size, so the queue never stalls.
        if (
          records > 0 &&
          (records >= this.limits.maxBatchRecords ||
            inPartition + message.size > this.limits.maxPartitionBytes ||
            bytes + message.size > this.limits.maxRequestBytes)
        ) {
          full = true;
          break;
        }
        partitionBytes.set(message.partition, inPartition + message.size);
        records++;
        bytes += message.size;
        end++;
      }
      if (end > start) {
        slices.push({ call, start, end });
        call.sent = end;
      }
      if (full) break;
    }
    // Calls whose records all went out leave the queue; the request's slices track them now.
    while (this.queue.length > 0 && this.queue[0]!.sent >= this.queue[0]!.limit) this.queue.shift();
    return slices;
  }

  private acknowledge(slices: readonly Slice[], bases: ReadonlyMap<number, number>): void {
    const next = new Map<number, number>();
    const missing = new Set<number>();
    for (const { call, start, end } of slices) {
      for (let i = start; i < end; i++) {
        const { partition } = call.messages[i]!;
        const base = bases.get(partition);
        if (base === undefined) {
          missing.add(partition);
          continue;
        }
        const offset = base + (next.get(partition) ?? 0);
        next.set(partition, (next.get(partition) ?? 0) + 1);
        call.positions[i] = { partition, offset };
      }
    }
    if (missing.size > 0) {
      this.fail(slices, new Error(`the produce response has no offset for partition(s) ${[...missing].join(', ')}`));
      return;
    }
    for (const { call, start, end } of slices) {
      this.pending -= end - start;
      call.settledMessages += end - start;
      if (!call.done && call.settledMessages >= call.messages.length) this.settle(call, () => call.resolve(call.positions));
    }
  }

  private fail(slices: readonly Slice[], cause: unknown): void {
    const error = this.describe(cause);
    for (const { call, start, end } of slices) {
      this.pending -= end - start;
      call.settledMessages += end - start;
      if (!call.done) this.settle(call, () => call.reject(error));
    }
  }

  private timeOut(call: PendingCall): void {
    if (call.done) return;
    const what = call.sent === 0 ? 'nothing was sent' : 'its records may or may not have been stored';
    this.settle(call, () =>
      call.reject(new FluxError(ErrorCode.LogUnavailable, `Kafka did not acknowledge the append within ${this.limits.appendTimeoutMs} ms (${what})`)),
    );
  }

  /**
   * Answers a call once. A call that still has unsent records (it failed or timed out part-way)
   * drops them: its caller has an error already, and sending them would only add records nobody
   * is told about.
   */
  private settle(call: PendingCall, answer: () => void): void {
    call.done = true;
    clearTimeout(call.timer);
    if (call.sent < call.limit) {
      this.pending -= call.limit - call.sent;
      call.limit = call.sent;
      const index = this.queue.indexOf(call);
      if (index >= 0) this.queue.splice(index, 1);
    }
    answer();
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.state === 'sending' || this.queue.length > 0) return;
    const waiters = [...this.idle];
    this.idle.clear();
    for (const resolve of waiters) resolve();
  }
}

/** The error a caller sees when Kafka refused or never acknowledged its records. */
export function appendFailure(topic: string): (error: unknown) => Error {
  return (error) =>
    new FluxError(ErrorCode.LogUnavailable, `Kafka did not acknowledge the append to topic ${topic}: ${errorMessage(error)}`, {
      cause: error,
    });
}
