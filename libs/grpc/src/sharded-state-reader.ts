import { Metadata, status as GrpcStatus, type ClientUnaryCall, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { shardForEntity, storedEntityJson, type EntityCounts, type EntityQuery, type StoredEntity, type StoredEvent } from '@flux/domain';
import { mergePages, type EntityPage, type HistoryQuery, type ShardCallObserver, type StateReader } from '@flux/core';
import { entityFromProto, int64, positionFromProto, storedEventFromProto, ttlFromProto, uint32 } from './codec.js';
import type { GetCountsResponse, StateServiceClient } from './generated/flux/v1/state.js';
import { fluxErrorFromCall } from './status.js';

export const DEFAULT_SHARD_DEADLINE_MS = 5_000;

export interface ShardedStateReaderOptions {
  /** One client per shard; index = shard (see `createShardClients`). */
  readonly shards: readonly StateServiceClient[];
  /** The topic's partition count (the same on reducers, shards and gateways). */
  readonly partitionCount: number;
  /** Deadline of every call to a shard (default 5 s). */
  readonly deadlineMs?: number;
  /** Told of every call's method, shard, status and duration (the gateway's metrics). */
  readonly observer?: ShardCallObserver;
}

type Callback<Res> = (error: ServiceError | null, response: Res) => void;
type UnaryMethod<Req, Res> = (request: Req, metadata: Metadata, options: Partial<CallOptions>, callback: Callback<Res>) => ClientUnaryCall;

/**
 * The StateReader of a query gateway: reads of one entity go to the shard that owns its
 * partition (partition mod shard count); lists and counts go to every shard and are merged.
 * Every call has a deadline; a shard that cannot answer (down, unreachable, too slow) makes
 * the read reject with FLUX_STORE_UNAVAILABLE. Partial answers are never returned.
 */
export class ShardedStateReader implements StateReader {
  private readonly shards: readonly StateServiceClient[];
  private readonly partitionCount: number;
  private readonly deadlineMs: number;
  private readonly observer: ShardCallObserver | undefined;

  constructor(options: ShardedStateReaderOptions) {
    if (options.shards.length === 0) throw new RangeError('a sharded state reader needs at least one shard');
    if (!Number.isInteger(options.partitionCount) || options.partitionCount < 1) {
      throw new RangeError(`partition count must be a positive integer, got ${options.partitionCount}`);
    }
    this.shards = options.shards;
    this.partitionCount = options.partitionCount;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_SHARD_DEADLINE_MS;
    this.observer = options.observer;
  }

  get shardCount(): number {
    return this.shards.length;
  }

  /** The shard that owns `entityId`. */
  shardOf(entityId: string): number {
    return shardForEntity(entityId, this.partitionCount, this.shards.length);
  }

  async getEntity(id: string): Promise<StoredEntity | undefined> {
    const shard = this.shardOf(id);
    const response = await this.call(shard, 'GetEntity', (c) => c.getEntity.bind(c), { id });
    return response.entity === undefined ? undefined : entityFromProto(response.entity).entity;
  }

  async getEntityJson(id: string): Promise<string | undefined> {
    const shard = this.shardOf(id);
    const response = await this.call(shard, 'GetEntity', (c) => c.getEntity.bind(c), { id });
    const entity = response.entity;
    // The shard sent the properties as JSON: they travel on without being decoded here.
    return entity === undefined
      ? undefined
      : storedEntityJson(entity.propertiesJson, entity.version, entity.lastUpdatedMs, positionFromProto(entity), ttlFromProto(entity));
  }

  async listEntities(query: EntityQuery): Promise<EntityPage> {
    if (!(query.limit >= 1)) return { entities: [] };
    const request = {
      prefix: query.prefix,
      limit: uint32(query.limit),
      ...(query.after === undefined ? {} : { after: query.after }),
      // Shards filter what they read (the expression is compiled again there).
      ...(query.filter === undefined ? {} : { filter: query.filter.source }),
    };
    const pages = await Promise.all(this.shards.map((_, shard) => this.call(shard, 'ListEntities', (c) => c.listEntities.bind(c), request)));
    return mergePages(
      pages.map((page) => ({ entities: page.entities.map(entityFromProto), ...(page.lastId === undefined ? {} : { lastId: page.lastId }) })),
      query.limit,
    );
  }

  async history(entityId: string, query: HistoryQuery): Promise<readonly StoredEvent[]> {
    if (!(query.limit >= 1)) return [];
    const shard = this.shardOf(entityId);
    const response = await this.call(shard, 'GetHistory', (c) => c.getHistory.bind(c), {
      entityId,
      sinceMs: int64(query.sinceMs),
      limit: uint32(query.limit),
    });
    return response.events.map(storedEventFromProto);
  }

  async counts(): Promise<EntityCounts> {
    const responses = await this.allCounts();
    const byNamespace = new Map<string, number>();
    let total = 0;
    for (const response of responses) {
      total += response.total;
      for (const [namespace, count] of response.byNamespace) byNamespace.set(namespace, (byNamespace.get(namespace) ?? 0) + count);
    }
    // Object.fromEntries defines own data properties, so a `__proto__` namespace stays a count.
    return { total, byNamespace: Object.fromEntries(byNamespace) };
  }

  async eventsApplied(): Promise<number> {
    const responses = await this.allCounts();
    return responses.reduce((sum, response) => sum + response.eventsApplied, 0);
  }

  private allCounts(): Promise<GetCountsResponse[]> {
    return Promise.all(this.shards.map((_, shard) => this.call(shard, 'GetCounts', (c) => c.getCounts.bind(c), {})));
  }

  private call<Req, Res>(shard: number, method: string, pick: (client: StateServiceClient) => UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    const client = this.shards[shard]!;
    const invoke = pick(client);
    const started = performance.now();
    return new Promise<Res>((resolve, reject) => {
      invoke(request, new Metadata(), { deadline: Date.now() + this.deadlineMs }, (error, response) => {
        const code = error === null ? GrpcStatus.OK : error.code;
        this.observer?.shardCallEnded({ method, shard, code: GrpcStatus[code] ?? String(code), seconds: (performance.now() - started) / 1000 });
        if (error === null) resolve(response);
        else reject(fluxErrorFromCall(error, `${method} on shard ${shard} (${client.getChannel().getTarget()})`));
      });
    });
  }
}

/** Kept here too: gateways merged shard pages before stores merged partition pages. */
export { mergePages };
