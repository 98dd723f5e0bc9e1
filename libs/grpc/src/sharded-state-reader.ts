import { Metadata, status as GrpcStatus, type ClientUnaryCall, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import {
  ErrorCode,
  FluxError,
  partitionFor,
  storedEntityJson,
  type EntityCounts,
  type EntityQuery,
  type StoredEntity,
  type StoredEvent,
} from '@flux/domain';
import { mergePages, type EntityPage, type HistoryQuery, type ShardCallObserver, type StateReader } from '@flux/core';
import { entityFromProto, int64, positionFromProto, storedEventFromProto, ttlFromProto, uint32 } from './codec.js';
import type { GetCountsResponse, StateServiceClient } from './generated/flux/v1/state.js';
import { describeTarget, type ShardRouter, type ShardTarget } from './shard-router.js';
import { routerOf, type RoutingOptions } from './routing-options.js';
import { fluxErrorFromCall, isMisrouted } from './status.js';

export const DEFAULT_SHARD_DEADLINE_MS = 5_000;

export type ShardedStateReaderOptions = RoutingOptions & {
  /** Deadline of every call to a shard (default 5 s). */
  readonly deadlineMs?: number;
  /** Told of every call's method, shard, status and duration (the gateway's metrics). */
  readonly observer?: ShardCallObserver;
};

type Callback<Res> = (error: ServiceError | null, response: Res) => void;
type UnaryMethod<Req, Res> = (request: Req, metadata: Metadata, options: Partial<CallOptions>, callback: Callback<Res>) => ClientUnaryCall;

const noOwner = (partitions: readonly number[]): FluxError =>
  new FluxError(
    ErrorCode.StoreUnavailable,
    `no reducer serves partition${partitions.length === 1 ? '' : 's'} ${partitions.join(',')} now (being handed over); retry shortly`,
  );

/**
 * The StateReader of a gateway: reads of one entity go to the shard that owns its partition;
 * lists and counts go to every shard, each asked for exactly the partitions it owns, and are
 * merged. Ownership comes from a ShardRouter; where it is out of date (a shard answers
 * misrouted, or a partition has no owner) the router is refreshed and the read tried once
 * more. Every call has a deadline; a shard that cannot answer (down, unreachable, too slow)
 * makes the read reject with FLUX_STORE_UNAVAILABLE. Partial answers are never returned.
 */
export class ShardedStateReader implements StateReader {
  private readonly router: ShardRouter;
  private readonly partitionCount: number;
  private readonly deadlineMs: number;
  private readonly observer: ShardCallObserver | undefined;

  constructor(options: ShardedStateReaderOptions) {
    this.router = routerOf(options);
    this.partitionCount = this.router.partitionCount;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_SHARD_DEADLINE_MS;
    this.observer = options.observer;
  }

  /** Targets routed to now. */
  get shardCount(): number {
    return this.router.targets().length;
  }

  /** The shard (index, or address with a partition map) that owns `entityId` now, as far as known. */
  shardOf(entityId: string): number | string | undefined {
    return this.router.ownerOf(partitionFor(entityId, this.partitionCount))?.shard;
  }

  async getEntity(id: string): Promise<StoredEntity | undefined> {
    const response = await this.routed(id, 'GetEntity', (c) => c.getEntity.bind(c), { id });
    return response.entity === undefined ? undefined : entityFromProto(response.entity).entity;
  }

  async getEntityJson(id: string): Promise<string | undefined> {
    const response = await this.routed(id, 'GetEntity', (c) => c.getEntity.bind(c), { id });
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
    const pages = await this.fanOut(
      'ListEntities',
      (c) => c.listEntities.bind(c),
      (partitions) => ({ ...request, partitions }),
    );
    return mergePages(
      pages.map((page) => ({ entities: page.entities.map(entityFromProto), ...(page.lastId === undefined ? {} : { lastId: page.lastId }) })),
      query.limit,
    );
  }

  async history(entityId: string, query: HistoryQuery): Promise<readonly StoredEvent[]> {
    if (!(query.limit >= 1)) return [];
    const response = await this.routed(entityId, 'GetHistory', (c) => c.getHistory.bind(c), {
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
    return this.fanOut(
      'GetCounts',
      (c) => c.getCounts.bind(c),
      (partitions) => ({ partitions }),
    );
  }

  /** A call to the owner of `entityId`'s partition; once more after a refresh where routing was out of date. */
  private async routed<Req, Res>(
    entityId: string,
    method: string,
    pick: (client: StateServiceClient) => UnaryMethod<Req, Res>,
    request: Req,
  ): Promise<Res> {
    const partition = partitionFor(entityId, this.partitionCount);
    let target = this.router.ownerOf(partition);
    if (target === undefined) {
      await this.router.refresh();
      target = this.router.ownerOf(partition);
      if (target === undefined) throw noOwner([partition]);
      return this.call(target, method, pick, request);
    }
    try {
      return await this.call(target, method, pick, request);
    } catch (error) {
      if (!isMisrouted(error)) throw error;
      const version = this.router.version;
      await this.router.refresh();
      const next = this.router.ownerOf(partition);
      // Unchanged routing would ask the same shard again.
      if (this.router.version === version || next?.shard === target.shard) throw error;
      if (next === undefined) throw noOwner([partition]);
      return this.call(next, method, pick, request);
    }
  }

  /**
   * One call per target, each for exactly the partitions it owns; planned once more after a
   * refresh where routing was out of date (partitions without owner, a misrouted answer).
   */
  private async fanOut<Req, Res>(
    method: string,
    pick: (client: StateServiceClient) => UnaryMethod<Req, Res>,
    request: (partitions: number[]) => Req,
  ): Promise<Res[]> {
    let unowned = this.router.unowned();
    if (unowned.length > 0) {
      await this.router.refresh();
      unowned = this.router.unowned();
      if (unowned.length > 0) throw noOwner(unowned);
      return this.callAll(method, pick, request);
    }
    try {
      return await this.callAll(method, pick, request);
    } catch (error) {
      if (!isMisrouted(error)) throw error;
      const version = this.router.version;
      await this.router.refresh();
      if (this.router.version === version) throw error;
      unowned = this.router.unowned();
      if (unowned.length > 0) throw noOwner(unowned);
      return this.callAll(method, pick, request);
    }
  }

  private callAll<Req, Res>(
    method: string,
    pick: (client: StateServiceClient) => UnaryMethod<Req, Res>,
    request: (partitions: number[]) => Req,
  ): Promise<Res[]> {
    const targets = this.router.targets().filter((target) => target.partitions.length > 0);
    return Promise.all(targets.map((target) => this.call(target, method, pick, request([...target.partitions]))));
  }

  private call<Req, Res>(
    target: ShardTarget,
    method: string,
    pick: (client: StateServiceClient) => UnaryMethod<Req, Res>,
    request: Req,
  ): Promise<Res> {
    const invoke = pick(target.client);
    const started = performance.now();
    return new Promise<Res>((resolve, reject) => {
      invoke(request, new Metadata(), { deadline: Date.now() + this.deadlineMs }, (error, response) => {
        const code = error === null ? GrpcStatus.OK : error.code;
        this.observer?.shardCallEnded({
          method,
          shard: target.shard,
          code: GrpcStatus[code] ?? String(code),
          seconds: (performance.now() - started) / 1000,
        });
        if (error === null) resolve(response);
        else reject(fluxErrorFromCall(error, `${method} on ${describeTarget(target)}`));
      });
    });
  }
}

/** Kept here too: gateways merged shard pages before stores merged partition pages. */
export { mergePages };
