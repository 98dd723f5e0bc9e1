import {
  decodeEntity,
  FILTER_SCAN_MAX,
  HISTORY_MAX_PER_ENTITY,
  partitionFor,
  type EntityCounts,
  type EntityFilter,
  type EntityQuery,
  type StoredEntity,
  type StoredEvent,
} from '@flux/domain';
import { mergePages, scanFiltered, type EntityPage, type EntityRecord, type HistoryQuery, type ScannedEntry, type StateReader } from '@flux/core';
import { HASH_ENTRIES } from './lua/scripts.js';
import { defineScript, type RedisClient, type ScriptCaller } from './lua-script.js';
import { storeCall } from './redis-errors.js';
import type { PartitionKeys } from './redis-keys.js';

const decodeStoredEvent = (json: string): StoredEvent => JSON.parse(json) as StoredEvent;

/** Upper bound of a lexicographic range: UTF-8 never contains 0xff, so prefix+0xff is above every id extending prefix. */
const UTF8_NEVER = Buffer.of(0xff);

export interface RedisStateReaderOptions {
  readonly client: RedisClient;
  readonly partitionCount: number;
  /** Keys of every partition, indexed by partition. */
  readonly keys: readonly PartitionKeys[];
  /** The partitions this reader covers (all of them, or one reducer shard's). */
  readonly partitions: readonly number[];
}

/**
 * Reads of materialised state over a set of partitions: the whole store, or the partitions of
 * one reducer shard (which serves only its own, so that a gateway summing every shard's counts
 * counts each partition once). Lists and totals fan out over the covered partitions
 * concurrently; ioredis pipelines concurrent calls on one connection, and on a cluster client
 * sends each to the node of its slot.
 *
 * Placement: the reducer commits every entity on the partition the shared partitioner assigns
 * (murmur2(id) mod P), so reads by id look there first. The port does not forbid committing an
 * entity elsewhere, so a miss falls back to the other covered partitions (one more round trip)
 * rather than reporting an entity as missing that a commit wrote.
 */
export class RedisStateReader implements StateReader {
  private readonly client: RedisClient;
  private readonly partitionCount: number;
  private readonly keys: readonly PartitionKeys[];
  private readonly partitions: readonly number[];
  private readonly covered: ReadonlySet<number>;
  private readonly hashEntries: ScriptCaller;

  constructor(options: RedisStateReaderOptions) {
    this.client = options.client;
    this.partitionCount = options.partitionCount;
    this.keys = options.keys;
    for (const partition of options.partitions) {
      if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) {
        throw new RangeError(`partition must be an integer from 0 to ${this.partitionCount - 1}, got ${partition}`);
      }
    }
    this.partitions = [...new Set(options.partitions)].sort((a, b) => a - b);
    this.covered = new Set(this.partitions);
    this.hashEntries = defineScript(this.client, HASH_ENTRIES);
  }

  getEntity(id: string): Promise<StoredEntity | undefined> {
    return storeCall('getEntity', async () => {
      const found = await this.locate(id, (keys) => this.client.hget(keys.entities, id));
      return found === undefined ? undefined : decodeEntity(found.value);
    });
  }

  getEntityJson(id: string): Promise<string | undefined> {
    return storeCall('getEntity', async () => (await this.locate(id, (keys) => this.client.hget(keys.entities, id)))?.value);
  }

  listEntities(query: EntityQuery): Promise<EntityPage> {
    return storeCall('listEntities', async () => {
      if (!(query.limit >= 1)) return { entities: [] };
      if (query.filter !== undefined) return this.listFiltered(query, query.filter);
      const { min, max } = lexRange(query);
      const wanted = Math.floor(query.limit) + 1; // one past the limit tells whether more remain
      // Every partition's first `wanted` matching ids (ids only: cheap), concurrently.
      const perPartition = await Promise.all(
        this.partitions.map((partition) => this.client.zrangebylexBuffer(this.keys[partition]!.ids, min, max, 'LIMIT', 0, wanted)),
      );
      const candidates: { id: Buffer; partition: number }[] = [];
      perPartition.forEach((ids, i) => {
        for (const id of ids) candidates.push({ id, partition: this.partitions[i]! });
      });
      // Raw bytes compare in UTF-8 byte order: the order of the sorted sets and of compareIds.
      candidates.sort((a, b) => Buffer.compare(a.id, b.id));
      const page = candidates.slice(0, wanted - 1).map(({ id, partition }) => ({ id: id.toString('utf8'), partition }));
      const more = candidates.length > page.length;

      // Then the entities of this page only, one HMGET per partition.
      const byPartition = new Map<number, string[]>();
      for (const { id, partition } of page) {
        let ids = byPartition.get(partition);
        if (ids === undefined) byPartition.set(partition, (ids = []));
        ids.push(id);
      }
      const json = new Map<number, Map<string, string | null>>();
      await Promise.all(
        [...byPartition].map(async ([partition, ids]) => {
          const values = await this.client.hmget(this.keys[partition]!.entities, ...ids);
          json.set(partition, new Map(ids.map((id, i) => [id, values[i] ?? null])));
        }),
      );
      const entities: EntityRecord[] = [];
      for (const { id, partition } of page) {
        // An id deleted between the two reads is left out; the page stays in order.
        const value = json.get(partition)?.get(id);
        if (value !== undefined && value !== null) entities.push({ id, entity: decodeEntity(value) });
      }
      return more ? { entities, lastId: page[page.length - 1]!.id } : { entities };
    });
  }

  /**
   * A filtered list scans each partition's ids in order (ids, then their entities, a slice at a
   * time) within its share of the scan budget, then merges the partitions' pages as the
   * gateway merges the shards'.
   */
  private async listFiltered(query: EntityQuery, filter: EntityFilter): Promise<EntityPage> {
    const budget = Math.max(1, Math.ceil(FILTER_SCAN_MAX / this.partitions.length));
    const pages = await Promise.all(
      this.partitions.map((partition) => {
        const keys = this.keys[partition]!;
        const readSlice = async (after: string | undefined, count: number): Promise<ScannedEntry[]> => {
          const { min, max } = lexRange({ prefix: query.prefix, ...(after === undefined ? {} : { after }) });
          const ids = (await this.client.zrangebylexBuffer(keys.ids, min, max, 'LIMIT', 0, count)).map((id) => id.toString('utf8'));
          if (ids.length === 0) return [];
          const values = await this.client.hmget(keys.entities, ...ids);
          return ids.map((id, i) => ({ id, json: values[i] ?? undefined }));
        };
        return scanFiltered(readSlice, { ...query, filter, budget });
      }),
    );
    return mergePages(pages, query.limit);
  }

  history(entityId: string, query: HistoryQuery): Promise<readonly StoredEvent[]> {
    return storeCall('history', async () => {
      const limit = Math.min(Math.floor(query.limit), HISTORY_MAX_PER_ENTITY);
      if (!(limit >= 1)) return [];
      const found = await this.locate(entityId, async (keys) => {
        const first = await this.client.lrange(keys.history(entityId), 0, limit - 1);
        return first.length === 0 ? null : { key: keys.history(entityId), first };
      });
      if (found === undefined) return [];
      const { key } = found.value;
      const events: StoredEvent[] = [];
      let chunk = found.value.first;
      let start = 0;
      for (;;) {
        for (const json of chunk) {
          const stored = decodeStoredEvent(json);
          // Storage times follow log order only as far as the clock does: filter, do not stop.
          if (stored.storedAt < query.sinceMs) continue;
          events.push(stored);
          if (events.length >= limit) return events;
        }
        start += chunk.length;
        // A short chunk is the end of the list; the list never holds more than the bound.
        if (chunk.length < limit || start >= HISTORY_MAX_PER_ENTITY) return events;
        chunk = await this.client.lrange(key, start, Math.min(start + limit, HISTORY_MAX_PER_ENTITY) - 1);
      }
    });
  }

  counts(): Promise<EntityCounts> {
    return storeCall('counts', async () => {
      const replies = await Promise.all(this.partitions.map((partition) => this.hashEntries([this.keys[partition]!.counts], [])));
      // A Map, then Object.fromEntries: own data properties, so `__proto__` stays a count key.
      const byKey = new Map<string, number>();
      let total = 0;
      for (const reply of replies) {
        const flat = reply as string[];
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const n = Number(flat[i + 1]);
          byKey.set(flat[i]!, (byKey.get(flat[i]!) ?? 0) + n);
          total += n;
        }
      }
      // Each partition drops a key at 0; a key can still sum to 0 across partitions.
      for (const [key, n] of byKey) if (n === 0) byKey.delete(key);
      return { total, byNamespace: Object.fromEntries(byKey) };
    });
  }

  eventsApplied(): Promise<number> {
    return storeCall('eventsApplied', async () => {
      const values = await Promise.all(this.partitions.map((partition) => this.client.hget(this.keys[partition]!.meta, 'events')));
      return values.reduce((sum, value) => sum + (value === null ? 0 : Number(value)), 0);
    });
  }

  /**
   * Finds an entity's data: its home partition first (one round trip when it is covered), then
   * the other covered partitions concurrently, where the lowest partition with an answer wins.
   */
  private async locate<T>(id: string, probe: (keys: PartitionKeys) => Promise<T | null>): Promise<{ partition: number; value: T } | undefined> {
    const home = partitionFor(id, this.partitionCount);
    if (this.covered.has(home)) {
      const value = await probe(this.keys[home]!);
      if (value !== null) return { partition: home, value };
    }
    const others = this.partitions.filter((partition) => partition !== home);
    const answers = await Promise.all(others.map((partition) => probe(this.keys[partition]!)));
    const index = answers.findIndex((answer) => answer !== null);
    return index < 0 ? undefined : { partition: others[index]!, value: answers[index]! };
  }
}

/** ZRANGEBYLEX bounds for a prefix and an optional exclusive `after`. */
function lexRange(query: Pick<EntityQuery, 'prefix' | 'after'>): { min: Buffer | string; max: Buffer | string } {
  const prefix = Buffer.from(query.prefix, 'utf8');
  let min: Buffer | string = prefix.length === 0 ? '-' : Buffer.concat([Buffer.from('['), prefix]);
  if (query.after !== undefined) {
    const after = Buffer.from(query.after, 'utf8');
    // `after` narrows the range only when it sorts at or above the prefix itself.
    if (Buffer.compare(after, prefix) >= 0) min = Buffer.concat([Buffer.from('('), after]);
  }
  const max = prefix.length === 0 ? '+' : Buffer.concat([Buffer.from('('), prefix, UTF8_NEVER]);
  return { min, max };
}
