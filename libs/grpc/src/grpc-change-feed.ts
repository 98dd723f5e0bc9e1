import { Metadata, type ClientReadableStream, type StatusObject } from '@grpc/grpc-js';
import { ErrorCode, FluxError, type ChangeRecord, type CommitProgress } from '@flux/domain';
import type { ChangeListener, InterruptibleChangeSource, Unsubscribe } from '@flux/core';
import { changeFromProto, progressFromProto } from './codec.js';
import type { WatchResponse } from './generated/flux/v1/state.js';
import { silentLogger, type GrpcLogger } from './logger.js';
import { describeTarget, type ShardRouter, type ShardTarget } from './shard-router.js';
import { routerOf, type RoutingOptions } from './routing-options.js';
import { fluxErrorFromCall } from './status.js';

export interface GrpcChangeFeedBackoff {
  /** Delay before the first re-open after a stream ended (default 100 ms). */
  readonly initialMs?: number;
  /** Largest delay between attempts (default 5 s). */
  readonly maxMs?: number;
}

/**
 * A shard's Watch stream opened (`connected`) or ended (`disconnected`, re-opened after
 * `retryInMs`). `shard` is the target's index (static routing) or address (partition map).
 */
export type ShardStreamEvent =
  | { readonly shard: number | string; readonly state: 'connected' }
  | { readonly shard: number | string; readonly state: 'disconnected'; readonly error?: FluxError; readonly retryInMs: number };

export type GrpcChangeFeedOptions = RoutingOptions & {
  readonly logger?: GrpcLogger;
  readonly backoff?: GrpcChangeFeedBackoff;
  /**
   * Told whenever a shard's stream opens or ends. Changes a shard applies while its stream is
   * down are not replayed (see `onResume`, and CatchingUpFeed, which fills such gaps).
   */
  readonly onShardEvent?: (event: ShardStreamEvent) => void;
  /** Where exceptions thrown by listeners go (default: logged). */
  readonly onListenerError?: (error: unknown) => void;
  /**
   * Ask the shards for commit progress with every event's outcome, and no changes: what a
   * gateway answering writes that wait for their events needs (listeners then hear empty
   * change lists).
   */
  readonly outcomesOnly?: boolean;
};

interface ShardStream {
  target: ShardTarget;
  call?: ClientReadableStream<WatchResponse>;
  timer?: NodeJS.Timeout;
  connected: boolean;
  /** Consecutive attempts that ended without a stream opening. */
  failures: number;
}

/**
 * The change feed of a gateway: one Watch stream per shard the router routes to, fanned in to
 * local listeners. Streams open with the first listener and close with the last; a stream that
 * ends or fails (shard restart, slow-consumer cut, network) is re-opened with exponential
 * backoff. When routing changes, streams open to new shards and close to shards that serve
 * nothing any more. Delivery is in commit order per partition (each commit comes from its
 * partition's owner at the time, on that shard's stream); what a shard applies while its stream
 * is down, or before its stream opens, is never delivered: `onResume` names the partitions
 * whose delivery (re)starts, when a stream opens and when partitions move to a shard whose
 * stream is open. Receive-only: changes come from the shards' reducers.
 */
export class GrpcChangeFeed implements InterruptibleChangeSource {
  private readonly listeners = new Set<ChangeListener>();
  private readonly resumeListeners = new Set<(partitions: readonly number[]) => void>();
  /** By target `shard`. */
  private readonly streams = new Map<number | string, ShardStream>();
  private readonly router: ShardRouter;
  private readonly logger: GrpcLogger;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly stopFollowing: () => void;
  private closed = false;

  constructor(private readonly options: GrpcChangeFeedOptions) {
    this.router = routerOf(options);
    this.logger = options.logger ?? silentLogger;
    this.initialBackoffMs = options.backoff?.initialMs ?? 100;
    this.maxBackoffMs = Math.max(this.initialBackoffMs, options.backoff?.maxMs ?? 5_000);
    this.stopFollowing = this.router.onChange(() => this.follow());
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Whether each current target's stream is open (in the router's target order). */
  get connectedShards(): readonly boolean[] {
    return this.router.targets().map((target) => this.streams.get(target.shard)?.connected === true);
  }

  /** Every partition has an owner and the stream of every shard routed to is open. */
  get connected(): boolean {
    const targets = this.router.targets();
    return targets.length > 0 && this.router.unowned().length === 0 && targets.every((target) => this.streams.get(target.shard)?.connected === true);
  }

  subscribe(listener: ChangeListener): Unsubscribe {
    if (this.closed) throw new FluxError(ErrorCode.Internal, 'the gRPC change feed is closed');
    // Wrapped, so the same function subscribed twice is two subscriptions.
    const entry: ChangeListener = (...delivered) => listener(...delivered);
    this.listeners.add(entry);
    if (this.listeners.size === 1) this.follow();
    return () => {
      if (!this.listeners.delete(entry)) return;
      if (this.listeners.size === 0) this.stopStreams();
    };
  }

  onResume(listener: (partitions: readonly number[]) => void): Unsubscribe {
    const entry = (partitions: readonly number[]): void => listener(partitions);
    this.resumeListeners.add(entry);
    return () => {
      this.resumeListeners.delete(entry);
    };
  }

  /** Removes every listener and closes every stream; the feed cannot be used afterwards. */
  close(): void {
    this.closed = true;
    this.stopFollowing();
    this.listeners.clear();
    this.resumeListeners.clear();
    this.stopStreams();
  }

  /** Brings the streams in line with the router's targets (while anyone listens). */
  private follow(): void {
    if (this.listeners.size === 0) return;
    const current = new Set<number | string>();
    for (const target of this.router.targets()) {
      current.add(target.shard);
      const stream = this.streams.get(target.shard);
      if (stream === undefined) {
        this.streams.set(target.shard, { target, connected: false, failures: 0 });
        this.open(target.shard);
        continue;
      }
      if (stream.target.client !== target.client) {
        // A new channel to the same address (it served nothing for a while): a new stream.
        this.stop(stream);
        stream.target = target;
        this.open(target.shard);
        continue;
      }
      const before = new Set(stream.target.partitions);
      stream.target = target;
      const added = target.partitions.filter((partition) => !before.has(partition));
      // Commits of a partition that moved here before this stream knew were delivered (the
      // stream carries whatever the shard owns); those before the move came from the previous
      // owner's stream, which may have ended early: catch up.
      if (stream.connected && added.length > 0) this.resumed(target.shard, added);
    }
    for (const [shard, stream] of this.streams) {
      if (current.has(shard)) continue;
      this.streams.delete(shard);
      this.logger.info({ shard }, 'shard serves no partition any more; change feed stream closed');
      this.stop(stream);
    }
  }

  private stopStreams(): void {
    for (const stream of this.streams.values()) this.stop(stream);
    this.streams.clear();
  }

  private stop(stream: ShardStream): void {
    clearTimeout(stream.timer);
    stream.timer = undefined;
    const call = stream.call;
    stream.call = undefined;
    stream.connected = false;
    stream.failures = 0;
    call?.cancel();
  }

  private resumed(shard: number | string, partitions: readonly number[]): void {
    for (const listener of [...this.resumeListeners]) this.call(listener, partitions);
    this.logger.debug({ shard, partitions }, 'change feed resumes partitions');
  }

  private open(shard: number | string): void {
    const stream = this.streams.get(shard);
    if (stream === undefined || this.listeners.size === 0 || stream.call !== undefined) return;
    stream.timer = undefined;
    const { client, address } = stream.target;
    // Wait for the channel to be ready rather than fail at once while it reconnects: the stream
    // then opens as soon as the shard is back, not at this feed's next retry.
    const call = client.watch({ outcomesOnly: this.options.outcomesOnly === true }, new Metadata({ waitForReady: true }));
    stream.call = call;
    let lastError: unknown;

    call.on('metadata', () => {
      if (stream.call !== call) return;
      // The server sends headers once its subscription is in place.
      stream.connected = true;
      stream.failures = 0;
      this.logger.info({ shard, address }, 'change feed stream open');
      this.options.onShardEvent?.({ shard, state: 'connected' });
      this.resumed(shard, stream.target.partitions);
    });
    call.on('data', (response: WatchResponse) => {
      if (stream.call === call) this.deliver(shard, response);
    });
    call.on('error', (error) => {
      lastError = error;
    });
    const ended = (status?: StatusObject): void => {
      if (stream.call !== call) return; // closed by us, or already handled
      stream.call = undefined;
      const wasConnected = stream.connected;
      stream.connected = false;
      if (!wasConnected) stream.failures += 1;
      const error = lastError !== undefined ? fluxErrorFromCall(lastError, `Watch on ${describeTarget(stream.target)}`) : undefined;
      const retryInMs = this.backoffMs(stream.failures);
      this.logger[wasConnected ? 'warn' : 'debug'](
        { shard, code: status?.code, err: error, retryInMs },
        wasConnected ? 'change feed stream ended; re-opening' : 'change feed stream could not open; retrying',
      );
      this.options.onShardEvent?.({ shard, state: 'disconnected', retryInMs, ...(error === undefined ? {} : { error }) });
      if (this.listeners.size === 0 || this.streams.get(shard) !== stream) return;
      stream.timer = setTimeout(() => this.open(shard), retryInMs);
      stream.timer.unref();
    };
    call.on('status', ended);
    call.on('end', () => ended());
  }

  private backoffMs(failures: number): number {
    const base = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** Math.min(failures, 20));
    // ±20% jitter, so gateways do not reconnect to a restarted shard in lockstep.
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private deliver(shard: number | string, response: WatchResponse): void {
    const changes: ChangeRecord[] = [];
    for (const change of response.changes) {
      try {
        changes.push(changeFromProto(change));
      } catch (error) {
        this.logger.error({ err: error, shard }, 'undecodable change skipped');
      }
    }
    let progress: CommitProgress | undefined;
    try {
      if (response.progress !== undefined) progress = progressFromProto(response.progress, this.options.outcomesOnly === true);
    } catch (error) {
      this.logger.error({ err: error, shard }, 'undecodable commit progress skipped');
    }
    if (changes.length === 0 && progress === undefined) return;
    for (const listener of [...this.listeners]) {
      // Skip listeners removed by an earlier listener of this same delivery.
      if (this.listeners.has(listener))
        this.call((value: readonly ChangeRecord[]) => (progress === undefined ? listener(value) : listener(value, progress)), changes);
    }
  }

  private call<T>(listener: (value: T) => void, value: T): void {
    try {
      listener(value);
    } catch (error) {
      if (this.options.onListenerError !== undefined) this.options.onListenerError(error);
      else this.logger.error({ err: error }, 'change feed listener failed');
    }
  }
}
