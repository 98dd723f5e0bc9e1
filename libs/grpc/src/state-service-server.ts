import {
  Metadata,
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type ServerOptions,
  type ServerWritableStream,
  type StatusObject,
} from '@grpc/grpc-js';
import { compileFilter, ErrorCode, partitionFor, type ChangeRecord, type CommitProgress, type EntityFilter } from '@flux/domain';
import type { ChangeSource, StateReader } from '@flux/core';
import { changeToProto, countsToProto, entityJsonToProto, entityToProto, progressToProto, storedEventToProto } from './codec.js';
import { HealthStatusBoard, ServingStatus } from './health.js';
import { HealthService } from './generated/grpc/health/v1/health.js';
import { StateServiceService, WatchResponse, type StateServiceServer, type WatchRequest } from './generated/flux/v1/state.js';
import type { GrpcLogger } from './logger.js';
import { OwnedPartitions, type PartitionOwnership } from './partition-ownership.js';
import { fluxStatus, misroutedStatus, statusFromError } from './status.js';

/** The service name health checks use for the state service (the empty name is the server). */
export const STATE_SERVICE_NAME = 'flux.v1.StateService';

export const DEFAULT_MAX_LIST_LIMIT = 10_000;
export const DEFAULT_WATCH_MAX_BACKLOG_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_SHUTDOWN_GRACE_MS = 5_000;

export interface StateServiceServerOptions {
  /**
   * The shard's materialised state. Without `readerFor`, counts and applied events must cover
   * only the owned partitions (the gateway sums the shards), and lists may cover more when
   * `partitionCount` is set: the server keeps only the owned (or requested) partitions' entities.
   */
  readonly reader: StateReader;
  /**
   * A reader of exactly `partitions`, for lists and counts (of the partitions a gateway asked
   * for, or else of those owned now). Set it when ownership changes at run time (e.g.
   * `(partitions) => store.forPartitions(partitions)`); readers are kept for reuse.
   */
  readonly readerFor?: (partitions: readonly number[]) => StateReader;
  /** Changes the shard's reducers apply. Watch forwards those of partitions owned when they are published. */
  readonly feed: ChangeSource;
  /** The partitions this shard owns, when they never change (else `ownership`). */
  readonly partitions?: readonly number[];
  /** The partitions this shard owns, asked at every request and commit (else `partitions`). */
  readonly ownership?: PartitionOwnership;
  readonly logger: GrpcLogger;
  /**
   * The topic's partition count. When set, GetEntity and GetHistory for an entity of a
   * partition this shard does not own fail as misrouted (FAILED_PRECONDITION, `flux-misrouted`:
   * a gateway with an outdated map or another shard count) instead of answering "not found",
   * and ListEntities answers only entities of owned partitions. Set it in production.
   */
  readonly partitionCount?: number;
  /** ListEntities answers at most this many entities per call (more remain: `last_id`). */
  readonly maxListLimit?: number;
  /**
   * Bytes (approximately) a Watch stream may have queued for a client that does not read
   * fast enough; beyond it the stream ends with RESOURCE_EXHAUSTED.
   */
  readonly watchMaxBacklogBytes?: number;
  /** Largest message the server sends or accepts (default 64 MiB). */
  readonly maxMessageBytes?: number;
  /** Extra grpc-js server options (keepalive, ...). */
  readonly serverOptions?: ServerOptions;
}

export interface StateServiceServerHandle {
  /** The grpc-js server with StateService and grpc.health.v1.Health registered. */
  readonly server: Server;
  readonly health: HealthStatusBoard;
  /** Binds `address` (`host:port`, port 0 for any free port) and returns the bound port. */
  listen(address: string, credentials?: ServerCredentials): Promise<number>;
  /** Health SERVING: the shard claimed its partitions and answers for them. */
  setReady(): void;
  /** Health NOT_SERVING (the initial state), e.g. while draining. */
  setNotServing(): void;
  /** Open Watch streams. */
  readonly watcherCount: number;
  /**
   * NOT_SERVING, ends Watch streams with UNAVAILABLE (clients reconnect elsewhere or later),
   * lets in-flight calls finish for up to `graceMs`, then cancels what is left.
   */
  shutdown(graceMs?: number): Promise<void>;
}

interface EncodedBatch {
  readonly response: WatchResponse;
  /** Approximate encoded size, for the backlog bound. */
  readonly bytes: number;
}

/**
 * StateService as generated, except that Watch responses are serialised once however many
 * gateways watch: every watcher writes the same response object for a batch (see `encode`), and
 * grpc-js would otherwise run the protobuf writer once per write.
 */
function stateServiceDefinition(): typeof StateServiceService {
  const serialised = new WeakMap<WatchResponse, Buffer>();
  const responseSerialize = (value: WatchResponse): Buffer => {
    let bytes = serialised.get(value);
    if (bytes === undefined) {
      bytes = Buffer.from(WatchResponse.encode(value).finish());
      serialised.set(value, bytes);
    }
    return bytes;
  };
  return { ...StateServiceService, watch: { ...StateServiceService.watch, responseSerialize } };
}

interface Watcher {
  /** Ends the stream with `status` (OK when omitted) and releases its subscription. */
  end(status?: Partial<StatusObject>): void;
}

/**
 * A shard's gRPC server: the state of its partitions (StateService) and its health.
 * Health starts NOT_SERVING and turns SERVING on `setReady()`.
 */
export function createStateServiceServer(options: StateServiceServerOptions): StateServiceServerHandle {
  const { reader, feed, logger } = options;
  if ((options.partitions === undefined) === (options.ownership === undefined)) {
    throw new TypeError('a state service server needs either `partitions` or `ownership`');
  }
  const ownership = options.ownership ?? new OwnedPartitions(options.partitions);
  const maxListLimit = options.maxListLimit ?? DEFAULT_MAX_LIST_LIMIT;
  const maxBacklogBytes = options.watchMaxBacklogBytes ?? DEFAULT_WATCH_MAX_BACKLOG_BYTES;
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const partitionCount = options.partitionCount;
  if (partitionCount !== undefined) {
    const outside = (options.partitions ?? []).filter((p) => !Number.isInteger(p) || p < 0 || p >= partitionCount);
    if (outside.length > 0) throw new RangeError(`partitions ${outside.join(', ')} are outside 0..${partitionCount - 1}`);
  }
  const readers = new PartitionReaders(options.readerFor);

  const server = new Server({
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.max_receive_message_length': maxMessageBytes,
    // Pings find gateways that vanished without closing their Watch streams.
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    ...options.serverOptions,
  });
  const health = new HealthStatusBoard(['', STATE_SERVICE_NAME]);
  const watchers = new Set<Watcher>();
  let closing: Promise<void> | undefined;

  /** Rejects a request for an entity of a partition this shard does not own, when it can tell. */
  const misrouted = (entityId: string): Partial<StatusObject> | undefined => {
    if (partitionCount === undefined) return undefined;
    const partition = partitionFor(entityId, partitionCount);
    if (ownership.owns(partition)) return undefined;
    return misroutedStatus(
      [partition],
      `entity ${JSON.stringify(entityId)} is in partition ${partition}, which this shard does not own (owns ${ownership.partitions().join(',')})`,
    );
  };

  /**
   * What a list or count covers: the requested partitions when the request names some (each
   * must be owned), else every partition owned now; with the reader of exactly those.
   */
  const scopeOf = (requested: readonly number[]): { scope: Scope } | { status: Partial<StatusObject> } => {
    if (requested.length === 0) {
      const partitions = ownership.partitions();
      return { scope: { partitions, reader: readers.of(partitions) ?? reader, all: true } };
    }
    const partitions = [...new Set(requested)].sort((a, b) => a - b);
    if (partitionCount !== undefined && partitions[partitions.length - 1]! >= partitionCount) {
      return { status: fluxStatus(GrpcStatus.INVALID_ARGUMENT, ErrorCode.Validation, `partitions must be below ${partitionCount}`) };
    }
    const foreign = partitions.filter((partition) => !ownership.owns(partition));
    if (foreign.length > 0) {
      return {
        status: misroutedStatus(foreign, `this shard does not own partitions ${foreign.join(',')} (owns ${ownership.partitions().join(',')})`),
      };
    }
    const all = partitions.length === ownership.partitions().length;
    return { scope: { partitions, reader: readers.of(partitions) ?? reader, all } };
  };

  const failed = (method: string, error: unknown): Partial<StatusObject> => {
    const status = statusFromError(error);
    const log = status.code === GrpcStatus.INTERNAL ? logger.error : logger.warn;
    log.call(logger, { err: error, method }, 'state service call failed');
    return status;
  };

  // One conversion per published batch and kind of watcher, shared by every watcher of that kind.
  const encoded = { changes: new WeakMap<object, EncodedBatch | null>(), outcomes: new WeakMap<object, EncodedBatch | null>() };
  const encode = (batch: readonly ChangeRecord[], progress: CommitProgress | undefined, outcomesOnly: boolean): EncodedBatch | null => {
    const cache = outcomesOnly ? encoded.outcomes : encoded.changes;
    const key = progress ?? batch;
    let result = cache.get(key);
    if (result !== undefined) return result;
    // Ownership as of the commit: a partition handed over is its new owner's to forward.
    const owns = progress === undefined || ownership.owns(progress.partition);
    const changes = outcomesOnly ? [] : batch.filter((change) => ownership.owns(change.partition)).map(changeToProto);
    let bytes = 16;
    for (const change of changes) {
      bytes += 48 + change.entityId.length + change.source.length;
      if (change.kind?.$case === 'upsert') bytes += change.kind.upsert.changesJson.length;
    }
    const message = progress === undefined || !owns ? undefined : progressToProto(progress, outcomesOnly);
    if (message !== undefined) bytes += 16 + 20 * message.offsets.length;
    result =
      changes.length === 0 && message === undefined
        ? null
        : { response: { changes, ...(message === undefined ? {} : { progress: message }) }, bytes };
    cache.set(key, result);
    return result;
  };

  const watch = (call: ServerWritableStream<WatchRequest, WatchResponse>): void => {
    const outcomesOnly = call.request.outcomesOnly;
    if (closing !== undefined) {
      call.emit('error', fluxStatus(GrpcStatus.UNAVAILABLE, ErrorCode.StoreUnavailable, 'the shard is shutting down'));
      return;
    }
    let backlogBytes = 0;
    let done = false;
    let unsubscribe = (): void => undefined;
    const watcher: Watcher = {
      end(status) {
        if (done) return;
        release();
        if (status === undefined || status.code === GrpcStatus.OK) call.end();
        // The documented grpc-js way to end a server stream with a status: queued messages
        // are still flushed first, then the status follows.
        else call.emit('error', status);
      },
    };
    const release = (): void => {
      if (done) return;
      done = true;
      unsubscribe();
      watchers.delete(watcher);
      logger.debug({ peer: call.getPeer() }, 'watch stream closed');
    };
    call.on('cancelled', release);
    call.on('close', release);
    watchers.add(watcher);

    unsubscribe = feed.subscribe((batch, progress) => {
      if (done) return;
      let message: EncodedBatch | null;
      try {
        message = encode(batch, progress, outcomesOnly);
      } catch (error) {
        logger.error({ err: error }, 'change batch could not be encoded; watch ended');
        watcher.end(statusFromError(error));
        return;
      }
      if (message === null) return;
      const { bytes } = message;
      backlogBytes += bytes;
      const flowing = call.write(message.response, () => {
        backlogBytes -= bytes;
      });
      if (!flowing && backlogBytes > maxBacklogBytes) {
        logger.warn({ peer: call.getPeer(), backlogBytes }, 'watch client too slow; stream ended');
        watcher.end(
          fluxStatus(
            GrpcStatus.RESOURCE_EXHAUSTED,
            ErrorCode.StoreUnavailable,
            `the client reads changes too slowly (over ${maxBacklogBytes} bytes queued); reconnect`,
          ),
        );
      }
    });
    // Headers now: the subscription is in place, so the client knows it misses nothing from here.
    call.sendMetadata(new Metadata());
    logger.debug({ peer: call.getPeer() }, 'watch stream opened');
  };

  const implementation: StateServiceServer = {
    getEntity: (call, callback) => {
      const wrong = misrouted(call.request.id);
      if (wrong !== undefined) return callback(wrong);
      // The stored JSON's properties are spliced into the reply, never decoded on this side.
      reader.getEntityJson(call.request.id).then(
        (json) => callback(null, json === undefined ? {} : { entity: entityJsonToProto(call.request.id, json) }),
        (error: unknown) => callback(failed('GetEntity', error)),
      );
    },
    listEntities: (call, callback) => {
      const { prefix, after } = call.request;
      const scoped = scopeOf(call.request.partitions);
      if ('status' in scoped) return callback(scoped.status);
      const { scope } = scoped;
      const limit = Math.min(call.request.limit, maxListLimit);
      if (limit < 1) return callback(null, { entities: [] });
      let filter: EntityFilter | undefined;
      try {
        filter = call.request.filter === undefined ? undefined : compileFilter(call.request.filter);
      } catch (error) {
        return callback(failed('ListEntities', error));
      }
      const covered = new Set(scope.partitions);
      const inScope = (id: string): boolean => partitionCount === undefined || covered.has(partitionFor(id, partitionCount));
      scope.reader.listEntities({ prefix, limit, ...(after === undefined ? {} : { after }), ...(filter === undefined ? {} : { filter }) }).then(
        (page) =>
          callback(null, {
            // A reader over a store other shards share (one Redis) lists their entities too:
            // keep only the partitions asked for. The store's lastId stays the cursor, so the
            // gateway's merge neither skips nor repeats ids (see mergePages).
            entities: page.entities.filter(({ id }) => inScope(id)).map(({ id, entity }) => entityToProto(id, entity)),
            ...(page.lastId === undefined ? {} : { lastId: page.lastId }),
          }),
        (error: unknown) => callback(failed('ListEntities', error)),
      );
    },
    getHistory: (call, callback) => {
      const { entityId, sinceMs, limit } = call.request;
      const wrong = misrouted(entityId);
      if (wrong !== undefined) return callback(wrong);
      if (limit < 1) return callback(null, { events: [] });
      reader.history(entityId, { sinceMs, limit }).then(
        (events) => callback(null, { events: events.map(storedEventToProto) }),
        (error: unknown) => callback(failed('GetHistory', error)),
      );
    },
    getCounts: (call, callback) => {
      const scoped = scopeOf(call.request.partitions);
      if ('status' in scoped) return callback(scoped.status);
      const { scope } = scoped;
      if (!scope.all && options.readerFor === undefined) {
        // `reader` counts every owned partition; it cannot count some of them only.
        return callback(fluxStatus(GrpcStatus.UNIMPLEMENTED, ErrorCode.StoreUnavailable, 'this shard counts all of its partitions or none'));
      }
      Promise.all([scope.reader.counts(), scope.reader.eventsApplied()]).then(
        ([counts, eventsApplied]) => callback(null, countsToProto(counts, eventsApplied)),
        (error: unknown) => callback(failed('GetCounts', error)),
      );
    },
    watch,
  };
  server.addService(stateServiceDefinition(), implementation);
  server.addService(HealthService, health.implementation);

  return {
    server,
    health,
    listen: (address, credentials = ServerCredentials.createInsecure()) =>
      new Promise<number>((resolve, reject) => {
        server.bindAsync(address, credentials, (error, port) => (error === null ? resolve(port) : reject(error)));
      }),
    setReady: () => {
      if (closing === undefined) health.setAll(ServingStatus.SERVING);
    },
    setNotServing: () => health.setAll(ServingStatus.NOT_SERVING),
    get watcherCount() {
      return watchers.size;
    },
    shutdown(graceMs = DEFAULT_SHUTDOWN_GRACE_MS) {
      closing ??= new Promise<void>((resolve) => {
        health.setAll(ServingStatus.NOT_SERVING);
        health.endWatches();
        const unavailable = fluxStatus(GrpcStatus.UNAVAILABLE, ErrorCode.StoreUnavailable, 'the shard is shutting down');
        for (const watcher of [...watchers]) watcher.end(unavailable);
        const timer = setTimeout(() => {
          logger.warn({ graceMs }, 'calls still open after the shutdown grace period; cancelling them');
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
}

interface Scope {
  readonly partitions: readonly number[];
  readonly reader: StateReader;
  /** Every partition the shard owns. */
  readonly all: boolean;
}

/** Most partition sets a server keeps a reader of (gateways ask for few distinct sets). */
const MAX_CACHED_READERS = 64;

/** Readers of partition sets from `readerFor`, kept for reuse (a gateway asks for the same sets again and again). */
class PartitionReaders {
  private readonly cache = new Map<string, StateReader>();

  constructor(private readonly readerFor: ((partitions: readonly number[]) => StateReader) | undefined) {}

  /** A reader of exactly `partitions` (ascending), or undefined without `readerFor`. */
  of(partitions: readonly number[]): StateReader | undefined {
    if (this.readerFor === undefined) return undefined;
    const key = partitions.join(',');
    let reader = this.cache.get(key);
    if (reader === undefined) {
      if (this.cache.size >= MAX_CACHED_READERS) this.cache.clear();
      reader = this.readerFor(partitions);
      this.cache.set(key, reader);
    }
    return reader;
  }
}
