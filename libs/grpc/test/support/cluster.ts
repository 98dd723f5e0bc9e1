import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ChangeRecord,
  type CommitProgress,
  countKeyFor,
  type FluxError,
  isFluxError,
  partitionFor,
  partitionsOfShard,
  type Properties,
  type PropertyChange,
  type StoredEntity,
} from '@flux/domain';
import { MemoryChangeFeed, type PartitionClaim, type StateStore } from '@flux/core';
import { Collector } from '@flux/core/testing';
import { LmdbStateStore } from '@flux/embedded';
import {
  closeShardClients,
  createShardClients,
  createStateServiceServer,
  ShardedStateReader,
  type GrpcLogger,
  type StateServiceClient,
  type StateServiceServerHandle,
  type StateServiceServerOptions,
} from '../../src/index.js';

export const T0 = 1_767_000_000_000;

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly obj: object;
  readonly msg: string | undefined;
}

/** A logger that records what it is told, so tests can await a log line instead of sleeping. */
export function recordingLogger(): GrpcLogger & { readonly entries: Collector<LogEntry> } {
  const entries = new Collector<LogEntry>();
  const at =
    (level: LogEntry['level']) =>
    (obj: object, msg?: string): void =>
      entries.push({ level, obj, msg });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

type ServerTuning = Omit<StateServiceServerOptions, 'reader' | 'feed' | 'partitions' | 'logger'>;

export class TestShard {
  feed = new MemoryChangeFeed();
  handle!: StateServiceServerHandle;
  port = 0;
  readonly logger = recordingLogger();

  constructor(
    readonly index: number,
    readonly partitions: readonly number[],
    readonly store: LmdbStateStore,
    private readonly tuning: ServerTuning,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts a server (on the previous port after a restart) with a fresh change feed. */
  async start(): Promise<void> {
    this.handle = createStateServiceServer({
      reader: this.store,
      feed: this.feed,
      partitions: this.partitions,
      logger: this.logger,
      ...this.tuning,
    });
    this.port = await this.handle.listen(`127.0.0.1:${this.port}`);
    this.handle.setReady();
  }

  stop(graceMs = 1_000): Promise<void> {
    return this.handle.shutdown(graceMs);
  }

  /** A shard process restart: the server goes away and comes back on the same port. */
  async restart(): Promise<void> {
    await this.stop();
    this.feed = new MemoryChangeFeed();
    await this.start();
  }
}

export interface ClusterOptions {
  readonly shardCount: number;
  readonly partitionCount: number;
  readonly deadlineMs?: number;
  readonly server?: ServerTuning;
}

/** Writes entities into state stores the way reducers would: one claim per partition, offsets counting up. */
export class EntityWriter {
  private readonly claims = new Map<number, PartitionClaim>();
  private readonly offsets = new Map<number, number>();

  constructor(readonly partitionCount: number) {}

  /** Upserts an entity into `store`, with one history entry; returns its log position. */
  async put(
    store: StateStore,
    entityId: string,
    properties: Properties,
    storedAt = T0,
  ): Promise<{ partition: number; offset: number; entity: StoredEntity }> {
    const partition = partitionFor(entityId, this.partitionCount);
    let claim = this.claims.get(partition);
    if (claim === undefined) {
      claim = await store.claimPartition(partition);
      this.claims.set(partition, claim);
    }
    const offset = (this.offsets.get(partition) ?? claim.appliedOffset) + 1;
    this.offsets.set(partition, offset);
    const existing = await store.getEntity(entityId);
    const entity: StoredEntity = { properties, version: (existing?.version ?? 0) + 1, lastUpdated: storedAt };
    const countKey = countKeyFor(entityId);
    await store.commit(claim, {
      lastOffset: offset,
      upserts: [{ id: entityId, entity }],
      deletes: [],
      history: [
        {
          entityId,
          offset,
          stored: {
            event: {
              eventId: `${entityId}@${offset}`,
              stream: 'grpc.test',
              source: 'grpc-suite',
              timestamp: storedAt - 1,
              payload: { entity_id: entityId, properties },
            },
            storedAt,
          },
        },
      ],
      countDeltas: existing === undefined && countKey !== undefined ? { [countKey]: 1 } : {},
      eventsApplied: 1,
    });
    return { partition, offset, entity };
  }
}

/** N shards, each a real grpc-js server over its own LMDB store, plus a gateway's clients. */
export class TestCluster {
  readonly clients: StateServiceClient[];
  readonly reader: ShardedStateReader;
  private readonly writer: EntityWriter;

  private constructor(
    readonly shards: readonly TestShard[],
    readonly partitionCount: number,
    private readonly dirs: readonly string[],
    deadlineMs: number,
  ) {
    this.writer = new EntityWriter(partitionCount);
    this.clients = createShardClients(shards.map((shard) => shard.address));
    this.reader = new ShardedStateReader({ shards: this.clients, partitionCount, deadlineMs });
  }

  static async start(options: ClusterOptions): Promise<TestCluster> {
    const shards: TestShard[] = [];
    const dirs: string[] = [];
    for (let index = 0; index < options.shardCount; index++) {
      const dir = await mkdtemp(join(tmpdir(), 'flux-grpc-'));
      dirs.push(dir);
      const partitions = partitionsOfShard(index, options.shardCount, options.partitionCount);
      const shard = new TestShard(index, partitions, LmdbStateStore.open({ path: dir }), {
        partitionCount: options.partitionCount,
        ...options.server,
      });
      await shard.start();
      shards.push(shard);
    }
    return new TestCluster(shards, options.partitionCount, dirs, options.deadlineMs ?? 5_000);
  }

  ownerOf(entityId: string): TestShard {
    const partition = partitionFor(entityId, this.partitionCount);
    return this.shards[partition % this.shards.length]!;
  }

  /**
   * Upserts an entity into the store of the shard that owns it, with one history entry, the
   * way that shard's reducer would; returns its log position.
   */
  async put(entityId: string, properties: Properties, storedAt = T0): Promise<{ partition: number; offset: number; entity: StoredEntity }> {
    return this.writer.put(this.ownerOf(entityId).store, entityId, properties, storedAt);
  }

  /** Publishes a batch (and its commit's progress, when given) on the change feed of the shard that owns `partition`. */
  publish(partition: number, changes: readonly ChangeRecord[], progress?: CommitProgress): void {
    this.shards[partition % this.shards.length]!.feed.publish(changes, progress);
  }

  async close(): Promise<void> {
    closeShardClients(this.clients);
    await Promise.all(this.shards.map((shard) => shard.stop(200)));
    await Promise.all(this.shards.map((shard) => shard.store.close()));
    await Promise.all(this.dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

export const upsertChange = (
  entityId: string,
  partition: number,
  offset: number,
  changes: readonly PropertyChange[] = [{ property: 'seq', value: offset }],
): ChangeRecord => ({
  kind: 'upsert',
  partition,
  offset,
  entityId,
  changes,
  version: offset + 1,
  timestamp: T0 + offset,
  source: 'grpc-suite',
});

export const deleteChange = (entityId: string, partition: number, offset: number): ChangeRecord => ({
  kind: 'delete',
  partition,
  offset,
  entityId,
  timestamp: T0 + offset,
  source: 'grpc-suite',
});

/** An address nothing listens on (a port that was free a moment ago). */
export async function unusedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

/** A TCP server that accepts connections and never answers: calls to it can only time out. */
export async function silentServer(): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: NetServer = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The FluxError `promise` rejects with (fails when it resolves or rejects with something else). */
export async function rejection(promise: Promise<unknown>): Promise<FluxError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isFluxError(error)) throw new Error(`expected a FluxError, got ${String(error)}`);
  return error;
}
