import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partitionFor, type EntityCounts, type EntityQuery, type StoredEntity, type StoredEvent } from '@flux/domain';
import { mergePages, type EntityPage, type HistoryQuery, type StateReader } from '@flux/core';
import { LmdbStateStore } from '@flux/embedded';

/**
 * One LMDB store per partition, and a reader of any set of partitions over them: the shared
 * state store elastic shards read (in production Redis, whose `forPartitions` gives the same).
 */
export class PartitionStores {
  private constructor(
    readonly stores: readonly LmdbStateStore[],
    private readonly dir: string,
  ) {}

  static async open(partitionCount: number): Promise<PartitionStores> {
    const dir = await mkdtemp(join(tmpdir(), 'flux-grpc-partitions-'));
    const stores = Array.from({ length: partitionCount }, (_, partition) => LmdbStateStore.open({ path: join(dir, String(partition)) }));
    return new PartitionStores(stores, dir);
  }

  storeOf(entityId: string): LmdbStateStore {
    return this.stores[partitionFor(entityId, this.stores.length)]!;
  }

  /** A reader of exactly `partitions`. */
  readerFor(partitions: readonly number[]): StateReader {
    return new PartitionsReader(this, new Set(partitions));
  }

  /** A reader of every partition. */
  all(): StateReader {
    return this.readerFor(this.stores.map((_, partition) => partition));
  }

  async close(): Promise<void> {
    await Promise.all(this.stores.map((store) => store.close()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

class PartitionsReader implements StateReader {
  constructor(
    private readonly stores: PartitionStores,
    private readonly partitions: ReadonlySet<number>,
  ) {}

  private get covered(): LmdbStateStore[] {
    return this.stores.stores.filter((_, partition) => this.partitions.has(partition));
  }

  private of(entityId: string): LmdbStateStore | undefined {
    const store = this.stores.storeOf(entityId);
    return this.covered.includes(store) ? store : undefined;
  }

  async getEntity(id: string): Promise<StoredEntity | undefined> {
    return this.of(id)?.getEntity(id);
  }

  async getEntityJson(id: string): Promise<string | undefined> {
    return this.of(id)?.getEntityJson(id);
  }

  async listEntities(query: EntityQuery): Promise<EntityPage> {
    return mergePages(await Promise.all(this.covered.map((store) => store.listEntities(query))), query.limit);
  }

  async history(entityId: string, query: HistoryQuery): Promise<readonly StoredEvent[]> {
    return (await this.of(entityId)?.history(entityId, query)) ?? [];
  }

  async counts(): Promise<EntityCounts> {
    const byNamespace: Record<string, number> = {};
    let total = 0;
    for (const counts of await Promise.all(this.covered.map((store) => store.counts()))) {
      total += counts.total;
      for (const [namespace, count] of Object.entries(counts.byNamespace)) byNamespace[namespace] = (byNamespace[namespace] ?? 0) + count;
    }
    return { total, byNamespace };
  }

  async eventsApplied(): Promise<number> {
    const applied = await Promise.all(this.covered.map((store) => store.eventsApplied()));
    return applied.reduce((sum, count) => sum + count, 0);
  }
}
