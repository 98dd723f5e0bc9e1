import type { PartitionMapReader, PartitionOwner } from '@flux/core';
import type { StateServiceClient } from './generated/flux/v1/state.js';
import { silentLogger, type GrpcLogger } from './logger.js';
import { createShardClients, type ShardClientOptions } from './shard-clients.js';
import type { ShardRouter, ShardTarget } from './shard-router.js';

export const DEFAULT_PARTITION_MAP_POLL_MS = 1_000;

export interface PartitionMapRouterOptions {
  /** Where elastic reducers publish who owns each partition. */
  readonly map: PartitionMapReader;
  /** The topic's partition count (entries of other partitions are ignored). */
  readonly partitionCount: number;
  /** How often the map is read again (default 1 s); `refresh` reads it at once. */
  readonly pollIntervalMs?: number;
  /** Options of the client made for each reducer address. */
  readonly clients?: ShardClientOptions;
  readonly logger?: GrpcLogger;
}

interface Owner {
  readonly address: string;
  readonly epoch: number;
}

/**
 * Routing by the partition map elastic reducers publish (FLUX_REDUCER_ASSIGNMENT=elastic): the
 * map is read every `pollIntervalMs` and on `refresh`, with one client per reducer address,
 * made when a partition first maps to it and closed when none does any more. An entry whose
 * epoch is below one already seen for its partition is a stale read and is ignored: routing
 * never moves back to an owner that lost the partition.
 */
export class PartitionMapRouter implements ShardRouter {
  readonly partitionCount: number;
  private readonly map: PartitionMapReader;
  private readonly pollIntervalMs: number;
  private readonly clientOptions: ShardClientOptions | undefined;
  private readonly logger: GrpcLogger;
  private readonly listeners = new Set<() => void>();
  /** The highest epoch seen per partition, whether or not it still has an owner. */
  private readonly epochs = new Map<number, number>();
  private owners = new Map<number, Owner>();
  private byPartition = new Map<number, ShardTarget>();
  private all: readonly ShardTarget[] = [];
  private readonly clients = new Map<string, StateServiceClient>();
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private changes = 0;
  private closed = false;

  constructor(options: PartitionMapRouterOptions) {
    if (!Number.isInteger(options.partitionCount) || options.partitionCount < 1) {
      throw new RangeError(`partition count must be a positive integer, got ${options.partitionCount}`);
    }
    this.partitionCount = options.partitionCount;
    this.map = options.map;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_PARTITION_MAP_POLL_MS;
    if (!(this.pollIntervalMs > 0)) throw new RangeError(`pollIntervalMs must be positive, got ${this.pollIntervalMs}`);
    this.clientOptions = options.clients;
    this.logger = options.logger ?? silentLogger;
    void this.refresh();
  }

  get version(): number {
    return this.changes;
  }

  ownerOf(partition: number): ShardTarget | undefined {
    return this.byPartition.get(partition);
  }

  targets(): readonly ShardTarget[] {
    return this.all;
  }

  unowned(): readonly number[] {
    const unowned: number[] = [];
    for (let partition = 0; partition < this.partitionCount; partition++) if (!this.byPartition.has(partition)) unowned.push(partition);
    return unowned;
  }

  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.queued !== undefined) return this.queued;
    const running = this.running;
    if (running === undefined) return this.start();
    // A read already under way may have started before whatever made the caller ask: read
    // once more after it, for every caller that asks meanwhile.
    this.queued = running.then(() => {
      this.queued = undefined;
      return this.start();
    });
    return this.queued;
  }

  onChange(listener: () => void): () => void {
    const entry = (): void => listener();
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.listeners.clear();
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    this.owners = new Map();
    this.byPartition = new Map();
    this.all = [];
  }

  private start(): Promise<void> {
    clearTimeout(this.timer);
    const run = this.read().finally(() => {
      if (this.running === run) this.running = undefined;
      if (this.closed || this.queued !== undefined) return;
      this.timer = setTimeout(() => void this.refresh(), this.pollIntervalMs);
      this.timer.unref();
    });
    this.running = run;
    return run;
  }

  private async read(): Promise<void> {
    try {
      const entries = await this.map.partitionMap();
      if (this.closed) return;
      if (this.failing) this.logger.info({}, 'partition map readable again');
      this.failing = false;
      this.apply(entries);
    } catch (error) {
      // Routing stays as it was: shards answer misrouted where it is out of date.
      if (!this.failing) this.logger.warn({ err: error }, 'partition map could not be read; routing as before');
      this.failing = true;
    }
  }

  private apply(entries: readonly PartitionOwner[]): void {
    const owners = new Map<number, Owner>();
    for (const entry of entries) {
      const { partition, address, epoch } = entry;
      if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) continue;
      const seen = this.epochs.get(partition);
      if (seen !== undefined && epoch < seen) {
        // A stale entry: keep what the newer one said (an owner, or none).
        const current = this.owners.get(partition);
        if (current !== undefined) owners.set(partition, current);
        continue;
      }
      this.epochs.set(partition, epoch);
      owners.set(partition, { address, epoch });
    }
    if (sameOwners(owners, this.owners)) {
      this.owners = owners;
      return;
    }
    this.owners = owners;
    this.rebuild();
    this.changes += 1;
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (error) {
        this.logger.error({ err: error }, 'routing change listener failed');
      }
    }
  }

  private rebuild(): void {
    const partitionsOf = new Map<string, number[]>();
    for (let partition = 0; partition < this.partitionCount; partition++) {
      const owner = this.owners.get(partition);
      if (owner === undefined) continue;
      let partitions = partitionsOf.get(owner.address);
      if (partitions === undefined) partitionsOf.set(owner.address, (partitions = []));
      partitions.push(partition);
    }
    for (const [address, client] of this.clients) {
      if (partitionsOf.has(address)) continue;
      // Calls still under way on it fail; their callers refresh and find the new owner.
      client.close();
      this.clients.delete(address);
      this.logger.info({ address }, 'reducer serves no partition any more; client closed');
    }
    const targets: ShardTarget[] = [];
    const byPartition = new Map<number, ShardTarget>();
    for (const address of [...partitionsOf.keys()].sort()) {
      let client = this.clients.get(address);
      if (client === undefined) {
        client = createShardClients([address], this.clientOptions)[0]!;
        this.clients.set(address, client);
      }
      const target: ShardTarget = { shard: address, address, client, partitions: partitionsOf.get(address)! };
      targets.push(target);
      for (const partition of target.partitions) byPartition.set(partition, target);
    }
    this.all = targets;
    this.byPartition = byPartition;
    this.logger.info({ targets: targets.map(({ address, partitions }) => ({ address, partitions })) }, 'partition map changed');
  }
}

function sameOwners(a: ReadonlyMap<number, Owner>, b: ReadonlyMap<number, Owner>): boolean {
  if (a.size !== b.size) return false;
  for (const [partition, owner] of a) if (b.get(partition)?.address !== owner.address) return false;
  return true;
}
