import {
  decodeEntity,
  ErrorCode,
  FluxError,
  partitionFor,
  type ChangeRecord,
  type EntityCounts,
  type EntityQuery,
  type StoredEntity,
  type StoredEvent,
} from '@flux/domain';
import type {
  ChangeCatchUp,
  ChangedEntity,
  ChangedPage,
  ChangeReplay,
  EntityPage,
  HistoryQuery,
  PartitionClaim,
  PartitionCommit,
  ReplayPage,
  StateReader,
  StateStore,
} from '@flux/core';
import { CHANGE_STREAM_MAX_OFFSETS, encodeCommit, type EncodedChange } from './commit-arguments.js';
import { CLAIM_PARTITION, COMMIT_PARTITION } from './lua/scripts.js';
import { defineScript, type RedisClient, type ScriptCaller } from './lua-script.js';
import { storeCall } from './redis-errors.js';
import { RedisStateReader } from './redis-state-reader.js';
import { checkKeyPrefix, DEFAULT_KEY_PREFIX, partitionKeys, type PartitionKeys } from './redis-keys.js';

export interface RedisStateStoreOptions {
  readonly client: RedisClient;
  /** The log's partition count P: lists, counts and totals cover partitions 0..P-1. */
  readonly partitionCount: number;
  /** Prefix of every key (default `flux:`); several deployments or tests can share a Redis. */
  readonly keyPrefix?: string;
  /** Quit the client on close(): set when the store was given a client of its own. */
  readonly ownsClient?: boolean;
  /** Log offsets of each partition whose changes the change stream keeps (default CHANGE_STREAM_MAX_OFFSETS). */
  readonly changeRetentionOffsets?: number;
}

/** One entity change as the partition's change stream keeps it (see `changesAfter`). */
export interface ChangeSummary {
  readonly partition: number;
  /** Offset of the entity's last event in its commit. */
  readonly offset: number;
  /** The last offset of the commit that made the change (the stream id's first part). */
  readonly commitOffset: number;
  readonly kind: 'upsert' | 'delete';
  readonly entityId: string;
  /** The entity's version after the commit (upserts only). */
  readonly version?: number;
  /** Properties the commit removed that the entity no longer has (upserts only; absent when none). */
  readonly removed?: readonly string[];
}

export interface ChangesPage {
  readonly changes: readonly ChangeSummary[];
  /**
   * False when the stream was trimmed past the requested position: changes after it may be
   * missing, so the subscriber must re-read state instead of relying on the summaries.
   */
  readonly complete: boolean;
}

type CommitReply = [status: 'ok'] | [status: 'fenced' | 'applied' | 'wrongtype', detail: string];

/**
 * Materialised state in Redis. Each partition's data lives under keys sharing the hash tag
 * `{p<n>}`; a reducer's commit is one Lua script that checks the claim's epoch and then writes
 * entities, history, counts, the applied offset and change summaries together. Reads cover
 * every partition (see RedisStateReader); `forPartitions` gives a reducer shard a reader of
 * its own partitions. Its change streams are also where a query gateway whose stream from a
 * shard was down catches up (ChangeCatchUp).
 */
export class RedisStateStore implements StateStore, ChangeCatchUp, ChangeReplay {
  readonly partitionCount: number;
  private readonly changeRetentionOffsets: number;
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly ownsClient: boolean;
  private readonly keys: readonly PartitionKeys[];
  private readonly commitScript: ScriptCaller;
  private readonly claimScript: ScriptCaller;
  private readonly reader: RedisStateReader;
  private closing: Promise<void> | undefined;

  constructor(options: RedisStateStoreOptions) {
    if (!Number.isInteger(options.partitionCount) || options.partitionCount < 1) {
      throw new RangeError(`partitionCount must be a positive integer, got ${options.partitionCount}`);
    }
    this.client = options.client;
    this.partitionCount = options.partitionCount;
    this.prefix = checkKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
    this.ownsClient = options.ownsClient ?? false;
    this.changeRetentionOffsets = options.changeRetentionOffsets ?? CHANGE_STREAM_MAX_OFFSETS;
    if (!Number.isSafeInteger(this.changeRetentionOffsets) || this.changeRetentionOffsets < 0) {
      throw new RangeError(`changeRetentionOffsets must be a non-negative integer, got ${this.changeRetentionOffsets}`);
    }
    this.keys = Array.from({ length: this.partitionCount }, (_, partition) => partitionKeys(this.prefix, partition));
    this.commitScript = defineScript(this.client, COMMIT_PARTITION);
    this.claimScript = defineScript(this.client, CLAIM_PARTITION);
    this.reader = new RedisStateReader({
      client: this.client,
      partitionCount: this.partitionCount,
      keys: this.keys,
      partitions: this.keys.map((_, partition) => partition),
    });
  }

  /** A reader of some partitions only: what a reducer shard serves for the partitions it owns. */
  forPartitions(partitions: readonly number[]): StateReader {
    return new RedisStateReader({ client: this.client, partitionCount: this.partitionCount, keys: this.keys, partitions });
  }

  getEntity(id: string): Promise<StoredEntity | undefined> {
    return this.reader.getEntity(id);
  }

  getEntityJson(id: string): Promise<string | undefined> {
    return this.reader.getEntityJson(id);
  }

  listEntities(query: EntityQuery): Promise<EntityPage> {
    return this.reader.listEntities(query);
  }

  history(entityId: string, query: HistoryQuery): Promise<readonly StoredEvent[]> {
    return this.reader.history(entityId, query);
  }

  counts(): Promise<EntityCounts> {
    return this.reader.counts();
  }

  eventsApplied(): Promise<number> {
    return this.reader.eventsApplied();
  }

  /** The partition the shared partitioner assigns to an entity. */
  homePartition(id: string): number {
    return partitionFor(id, this.partitionCount);
  }

  /** The entities of a batch, in one HMGET, decoded afresh (the reducer merges into them). */
  async loadEntities(partition: number, ids: readonly string[]): Promise<Map<string, StoredEntity>> {
    const keys = this.keysOf(partition);
    return storeCall('loadEntities', async () => {
      const loaded = new Map<string, StoredEntity>();
      if (ids.length === 0) return loaded;
      const values = await this.client.hmget(keys.entities, ...ids);
      values.forEach((json, i) => {
        if (json !== null) loaded.set(ids[i]!, decodeEntity(json));
      });
      return loaded;
    });
  }

  async claimPartition(partition: number): Promise<PartitionClaim> {
    const keys = this.keysOf(partition);
    return storeCall('claimPartition', async () => {
      const [epoch, offset] = (await this.claimScript([keys.meta], [])) as [number, string];
      return { partition, epoch: Number(epoch), appliedOffset: Number(offset) };
    });
  }

  async claimEpoch(partition: number): Promise<number> {
    const keys = this.keysOf(partition);
    return storeCall('claimEpoch', async () => Number((await this.client.hget(keys.meta, 'epoch')) ?? 0));
  }

  async commit(claim: PartitionClaim, commit: PartitionCommit): Promise<void> {
    this.keysOf(claim.partition);
    // Encoding happens first, so a commit that cannot be encoded never reaches Redis.
    const { keys, args } = encodeCommit(this.prefix, claim, commit, this.changeRetentionOffsets);
    return storeCall('commit', async () => {
      const [status, detail] = (await this.commitScript(keys, args)) as CommitReply;
      switch (status) {
        case 'ok':
        case 'applied':
          // 'applied': the partition already reflects this offset (the command was resent
          // after a reconnect and the first attempt had landed); nothing was written twice.
          return;
        case 'fenced':
          throw new FluxError(
            ErrorCode.Fenced,
            `partition ${claim.partition} is owned by a newer claim (epoch ${detail === '' ? 'none' : detail}, this claim has ${claim.epoch})`,
          );
        case 'wrongtype':
          throw new FluxError(ErrorCode.Internal, `commit refused, nothing written: Redis key ${detail} holds an unexpected type`);
        default:
          throw new FluxError(ErrorCode.Internal, `unexpected reply from the commit script: ${String(status)}`);
      }
    });
  }

  async expiredEntities(partition: number, nowMs: number, limit: number): Promise<readonly string[]> {
    const keys = this.keysOf(partition);
    return storeCall('expiredEntities', async () => {
      if (!(limit >= 1)) return [];
      return this.client.zrangebyscore(keys.expiries, '-inf', Math.floor(nowMs), 'LIMIT', 0, Math.floor(limit));
    });
  }

  /**
   * Change summaries of a partition after a log offset (a subscriber's last seen position), in
   * commit order, at most `limit`: what a subscriber needs to resume without gaps (it resumes
   * from the last summary's offset for more). `complete` is false when the stream (bounded, see
   * CHANGE_STREAM_MAX_OFFSETS) no longer reaches back that far.
   */
  async changesAfter(partition: number, afterOffset: number, limit = 1000): Promise<ChangesPage> {
    const keys = this.keysOf(partition);
    return storeCall('changesAfter', async () => {
      // Every entry holds at least one summary, so `limit` entries are enough.
      const [entries, info] = await this.streamAfter(keys, afterOffset, limit);
      const changes: ChangeSummary[] = [];
      for (const [id, fields] of entries) {
        const commitOffset = Number(id.slice(0, id.indexOf('-')));
        const json = fields[fields.indexOf('changes') + 1] ?? '[]';
        for (const [kind, entityId, offset, version, removed] of JSON.parse(json) as EncodedChange[]) {
          // A commit that spans the position: its summaries up to the position were seen already.
          if (offset <= afterOffset) continue;
          if (changes.length === limit) return { changes, complete: reachesBack(info, afterOffset) };
          changes.push({
            partition,
            offset,
            commitOffset,
            kind: kind === 'd' ? 'delete' : 'upsert',
            entityId,
            ...(version === undefined ? {} : { version }),
            ...(removed === undefined ? {} : { removed }),
          });
        }
      }
      return { changes, complete: reachesBack(info, afterOffset) };
    });
  }

  /**
   * The change records of a partition after a log offset, from its change stream. A commit
   * written without its records (by a version that did not keep them) makes the page
   * incomplete, as a trimmed stream does.
   */
  async replayAfter(partition: number, afterOffset: number, limit: number): Promise<ReplayPage> {
    const keys = this.keysOf(partition);
    return storeCall('replayAfter', async () => {
      const [entries, info] = await this.streamAfter(keys, afterOffset, limit);
      const records: ChangeRecord[] = [];
      let complete = reachesBack(info, afterOffset);
      for (const [, fields] of entries) {
        const at = fields.indexOf('records');
        if (at < 0 || at % 2 !== 0) {
          complete = false;
          continue;
        }
        for (const record of JSON.parse(fields[at + 1]!) as ChangeRecord[]) {
          // A commit that spans the position: its records up to the position were seen already.
          if (record.offset <= afterOffset) continue;
          if (records.length === limit) return { records, complete, next: records[records.length - 1]!.offset };
          records.push(record);
        }
      }
      // Fewer entries than asked for: the stream has nothing more (now).
      return entries.length < limit ? { records, complete } : { records, complete, next: entries[entries.length - 1]![0].split('-').map(Number)[0]! };
    });
  }

  async position(partition: number): Promise<number> {
    const keys = this.keysOf(partition);
    return storeCall('position', async () => Number((await this.client.hget(keys.meta, 'offset')) ?? -1));
  }

  /**
   * The entities of a page of change summaries, read together with the partition's applied
   * offset in one MULTI (one slot: the partition's hash tag), so the states are known to
   * reflect exactly the changes up to that offset.
   */
  async changedAfter(partition: number, afterOffset: number, limit: number): Promise<ChangedPage> {
    const keys = this.keysOf(partition);
    const { changes, complete } = await this.changesAfter(partition, afterOffset, limit);
    const trails = new Map<string, { deleted: boolean; removed: Set<string> }>();
    for (const change of changes) {
      let trail = trails.get(change.entityId);
      if (trail === undefined) trails.set(change.entityId, (trail = { deleted: false, removed: new Set() }));
      if (change.kind === 'delete') trail.deleted = true;
      for (const name of change.removed ?? []) trail.removed.add(name);
    }
    const ids = [...trails.keys()];
    return storeCall('changedAfter', async () => {
      const transaction = this.client.multi().hget(keys.meta, 'offset');
      if (ids.length > 0) transaction.hmget(keys.entities, ...ids);
      const replies = await transaction.exec();
      const failed = replies?.find(([error]) => error !== null)?.[0];
      if (replies === null || failed) throw failed ?? new Error('the MULTI reading changed entities was aborted');
      const position = Number(replies[0]![1] ?? -1);
      const values = (replies[1]?.[1] ?? []) as (string | null)[];
      const entities = ids.map((id, i): ChangedEntity => {
        const json = values[i];
        const entity = json === null || json === undefined ? undefined : decodeEntity(json);
        const { deleted, removed } = trails.get(id)!;
        return { id, entity, deleted, removed: [...removed].filter((name) => entity === undefined || !Object.hasOwn(entity.properties, name)) };
      });
      return { entities, position, complete, ...(changes.length === limit ? { next: changes[changes.length - 1]!.offset } : {}) };
    });
  }

  close(): Promise<void> {
    this.closing ??= this.ownsClient
      ? this.client.quit().then(
          () => undefined,
          () => this.client.disconnect(),
        )
      : Promise.resolve();
    return this.closing;
  }

  /** The change stream's entries (commits) after a log offset, at most `limit`, and its XINFO STREAM. */
  private streamAfter(keys: PartitionKeys, afterOffset: number, limit: number): Promise<[[id: string, fields: string[]][], unknown]> {
    // Entry ids are <commit's last offset>-1: a commit at or before the position holds nothing after it.
    const start = afterOffset < 0 ? '-' : `${Math.floor(afterOffset) + 1}-0`;
    return Promise.all([
      this.client.xrange(keys.changes, start, '+', 'COUNT', limit),
      this.client.call('XINFO', 'STREAM', keys.changes).catch(() => null),
    ]);
  }

  private keysOf(partition: number): PartitionKeys {
    const keys = Number.isInteger(partition) ? this.keys[partition] : undefined;
    if (keys === undefined) throw new RangeError(`partition must be an integer from 0 to ${this.partitionCount - 1}, got ${partition}`);
    return keys;
  }
}

/**
 * Whether the stream still holds every summary after `afterOffset`, from XINFO STREAM (Redis 7):
 * nothing was trimmed when every entry ever added is still there; otherwise the trimmed entries
 * are whole commits before the first one kept, so their summaries' offsets are below that
 * commit's last offset (the first part of its id).
 */
function reachesBack(info: unknown, afterOffset: number): boolean {
  if (!Array.isArray(info)) return true; // no stream: nothing was ever trimmed
  const field = new Map<string, unknown>();
  for (let i = 0; i + 1 < info.length; i += 2) field.set(String(info[i]), info[i + 1]);
  const added = Number(field.get('entries-added'));
  if (!(added > Number(field.get('length')))) return true;
  const first = String(field.get('recorded-first-entry-id') ?? '');
  const newestTrimmed = Number(first.slice(0, first.indexOf('-'))) - 1;
  return newestTrimmed <= afterOffset;
}
