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
import { fluxStatus, statusFromError } from './status.js';

/** The service name health checks use for the state service (the empty name is the server). */
export const STATE_SERVICE_NAME = 'flux.v1.StateService';

export const DEFAULT_MAX_LIST_LIMIT = 10_000;
export const DEFAULT_WATCH_MAX_BACKLOG_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_SHUTDOWN_GRACE_MS = 5_000;

export interface StateServiceServerOptions {
  /**
   * The shard's materialised state. Counts and applied events must cover only `partitions`
   * (the gateway sums the shards). Lists may cover more when `partitionCount` is set: the
   * server keeps only its partitions' entities.
   */
  readonly reader: StateReader;
  /** Changes the shard's reducers apply. Watch forwards only those of `partitions`. */
  readonly feed: ChangeSource;
  /** The partitions this shard owns. */
  readonly partitions: readonly number[];
  readonly logger: GrpcLogger;
  /**
   * The topic's partition count. When set, GetEntity and GetHistory for an entity of a
   * partition this shard does not own fail with FAILED_PRECONDITION (a gateway routing with
   * another shard count) instead of answering "not found", and ListEntities answers only
   * entities of owned partitions. Set it in production.
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
  const owned = new Set(options.partitions);
  const maxListLimit = options.maxListLimit ?? DEFAULT_MAX_LIST_LIMIT;
  const maxBacklogBytes = options.watchMaxBacklogBytes ?? DEFAULT_WATCH_MAX_BACKLOG_BYTES;
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const partitionCount = options.partitionCount;
  if (partitionCount !== undefined) {
    const outside = options.partitions.filter((p) => !Number.isInteger(p) || p < 0 || p >= partitionCount);
    if (outside.length > 0) throw new RangeError(`partitions ${outside.join(', ')} are outside 0..${partitionCount - 1}`);
  }

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

  const ownsEntity = (entityId: string): boolean => partitionCount === undefined || owned.has(partitionFor(entityId, partitionCount));

  /** Rejects a request for an entity of a partition this shard does not own, when it can tell. */
  const misrouted = (entityId: string): Partial<StatusObject> | undefined => {
    if (partitionCount === undefined) return undefined;
    const partition = partitionFor(entityId, partitionCount);
    if (owned.has(partition)) return undefined;
    return fluxStatus(
      GrpcStatus.FAILED_PRECONDITION,
      ErrorCode.StoreUnavailable,
      `entity ${JSON.stringify(entityId)} is in partition ${partition}, which this shard does not own (owns ${[...owned].join(',')})`,
    );
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
    const owns = progress === undefined || owned.has(progress.partition);
    const changes = outcomesOnly ? [] : batch.filter((change) => owned.has(change.partition)).map(changeToProto);
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
      const limit = Math.min(call.request.limit, maxListLimit);
      if (limit < 1) return callback(null, { entities: [] });
      let filter: EntityFilter | undefined;
      try {
        filter = call.request.filter === undefined ? undefined : compileFilter(call.request.filter);
      } catch (error) {
        return callback(failed('ListEntities', error));
      }
      reader.listEntities({ prefix, limit, ...(after === undefined ? {} : { after }), ...(filter === undefined ? {} : { filter }) }).then(
        (page) =>
          callback(null, {
            // A reader over a store other shards share (one Redis) lists their entities too:
            // keep only this shard's. The store's lastId stays the cursor, so the gateway's
            // merge neither skips nor repeats ids (see mergePages).
            entities: page.entities.filter(({ id }) => ownsEntity(id)).map(({ id, entity }) => entityToProto(id, entity)),
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
    getCounts: (_call, callback) => {
      Promise.all([reader.counts(), reader.eventsApplied()]).then(
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
