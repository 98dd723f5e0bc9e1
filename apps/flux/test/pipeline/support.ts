/**
 * Shared wiring for the pipeline suites: the same services `embedded-flux.ts` composes, on real
 * LMDB environments in a temporary directory, without the HTTP layer in front.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect } from 'vitest';
import {
  AppliedPositions,
  Authorizer,
  IngestService,
  ReducerGroup,
  RuntimeConfigService,
  type PartitionClaim,
  type PartitionCommit,
  type PartitionStateWriter,
  type Principal,
  type RateLimiter,
} from '@flux/core';
import { within } from '@flux/core/testing';
import { DEFAULT_RUNTIME_CONFIG, FluxError, type EntityBound, type EventEnvelopeInput, type RuntimeConfig } from '@flux/domain';
import { openEmbedded, type Embedded } from '@flux/embedded';

export const silentLogger = pino({ level: 'silent' });

export const OPEN: Principal = { kind: 'open' };

export interface TempDir {
  readonly path: string;
  remove(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), 'flux-pipeline-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A valid producer envelope for `entityId`. */
export function envelope(entityId: string, properties: Record<string, unknown>, extra: Partial<EventEnvelopeInput> = {}): EventEnvelopeInput {
  return { stream: 'test.pipeline', source: 'pipeline-test', timestamp: Date.now(), payload: { entity_id: entityId, properties }, ...extra };
}

export interface PipelineOptions {
  readonly partitionCount?: number;
  readonly authEnabled?: boolean;
  readonly adminToken?: string;
  readonly initialRuntimeConfig?: Partial<RuntimeConfig>;
  /** Defaults to the embedded in-memory limiter. */
  readonly rateLimiter?: RateLimiter;
  readonly maxBatch?: number;
  /** Wraps the state store the reducers write through (fault injection). */
  readonly wrapStore?: (store: PartitionStateWriter) => PartitionStateWriter;
  readonly onCommitted?: (partition: number, lastOffset: number, events: number) => void;
  /** Given to ingest and reducers alike, as the app does. */
  readonly entityBound?: EntityBound;
}

export interface Pipeline {
  readonly embedded: Embedded;
  readonly authorizer: Authorizer;
  readonly runtimeConfig: RuntimeConfigService;
  readonly ingest: IngestService;
  readonly reducers: ReducerGroup;
  /** What the reducers applied, as the ingest service waits for it (wait=applied, conditions). */
  readonly applied: AppliedPositions;
  /** Starts the reducers; resolves once they applied what the log held. */
  startReducers(): Promise<void>;
  /** Resolves once everything the log holds now has been applied. */
  settle(ms?: number): Promise<void>;
  /** The log end offset of every partition. */
  endOffsets(): Promise<number[]>;
  close(): Promise<void>;
}

/** Opens the embedded adapters on `dataDir` and wires ingest and reducers as the app does. */
export async function openPipeline(dataDir: string, options: PipelineOptions = {}): Promise<Pipeline> {
  const embedded = await openEmbedded({ dataDir, partitionCount: options.partitionCount ?? 4 });
  const { log, state, control, feed } = embedded;
  const authorizer = new Authorizer({ authEnabled: options.authEnabled ?? false, adminToken: options.adminToken, control });
  const runtimeConfig = await RuntimeConfigService.load(control, { ...DEFAULT_RUNTIME_CONFIG, ...options.initialRuntimeConfig });
  const bound = options.entityBound === undefined ? {} : { entityBound: options.entityBound };
  const applied = new AppliedPositions({
    source: feed,
    store: state,
    history: state,
    partitionCount: log.partitionCount,
    maxWaiting: 1000,
    logger: silentLogger,
  });
  const ingest = new IngestService({
    log,
    authorizer,
    rateLimiter: options.rateLimiter ?? embedded.rateLimiter,
    runtimeConfig,
    applied,
    ...bound,
  });
  const partitions = Array.from({ length: log.partitionCount }, (_, partition) => partition);
  const reducers = new ReducerGroup({
    partitions,
    log,
    store: options.wrapStore?.(state) ?? state,
    feed,
    logger: silentLogger,
    ...bound,
    ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
    ...(options.onCommitted === undefined ? {} : { onCommitted: options.onCommitted }),
  });
  let closed: Promise<void> | undefined;

  const endOffsets = () => Promise.all(partitions.map((partition) => log.endOffset(partition)));
  return {
    embedded,
    authorizer,
    runtimeConfig,
    ingest,
    reducers,
    applied,
    startReducers() {
      return within(reducers.start(), 'the reducers to recover');
    },
    async settle(ms = 10_000) {
      const ends = await endOffsets();
      await within(
        reducers.waitFor(ends.map((end, partition) => ({ partition, offset: end - 1 }))),
        `the reducers to apply the log up to ${JSON.stringify(ends)}`,
        ms,
      );
    },
    endOffsets,
    close() {
      closed ??= (async () => {
        // A no-op for reducers never started; waits for batches in flight otherwise.
        await reducers.stop();
        applied.close();
        runtimeConfig.close();
        await embedded.close();
      })();
      return closed;
    },
  };
}

/** Every entity id of the store with its version (system entities included). */
export async function allEntities(pipeline: Pipeline): Promise<Map<string, { version: number; properties: Record<string, unknown> }>> {
  const page = await pipeline.embedded.state.listEntities({ prefix: '', limit: 100_000 });
  return new Map(page.entities.map(({ id, entity }) => [id, { version: entity.version, properties: entity.properties }]));
}

/** The FluxError a promise rejects with (failing the test when it resolves or rejects otherwise). */
export async function rejection(promise: Promise<unknown>): Promise<FluxError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(FluxError);
  return error as FluxError;
}

export interface PipelineLifecycle {
  /** This test's temporary directory (a fresh one per test). */
  readonly dir: () => TempDir;
  /** Opens a pipeline on the test's directory; it is closed after the test. */
  open(options?: PipelineOptions): Promise<Pipeline>;
  /** Closes a pipeline before the test ends (a restart). */
  close(pipeline: Pipeline): Promise<void>;
}

/** Pipelines on a fresh temporary directory per test, all closed (and the directory removed) after it. */
export function usePipelines(): PipelineLifecycle {
  let dir: TempDir | undefined;
  const opened: Pipeline[] = [];
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    for (const pipeline of opened.splice(0)) await pipeline.close();
    await dir?.remove();
  });
  const current = (): TempDir => {
    if (dir === undefined) throw new Error('usePipelines: no test is running');
    return dir;
  };
  return {
    dir: current,
    async open(options = {}) {
      const pipeline = await openPipeline(current().path, options);
      opened.push(pipeline);
      return pipeline;
    },
    async close(pipeline) {
      opened.splice(opened.indexOf(pipeline), 1);
      await pipeline.close();
    },
  };
}

/**
 * Wraps the reducers' store (PipelineOptions.wrapStore) so that its `nth` commit fails as a
 * crash would: before reaching the store, or (`reachesStore`) after it landed. `onCrash` hears it.
 */
export function crashingAtCommit(
  nth: number,
  onCrash: (claim: PartitionClaim, commit: PartitionCommit) => void,
  reachesStore = false,
): (store: PartitionStateWriter) => PartitionStateWriter {
  let commits = 0;
  return (store) => ({
    claimPartition: (partition) => store.claimPartition(partition),
    claimEpoch: (partition) => store.claimEpoch(partition),
    loadEntities: (partition, ids) => store.loadEntities(partition, ids),
    expiredEntities: (partition, nowMs, limit) => store.expiredEntities(partition, nowMs, limit),
    async commit(claim, commit) {
      if (++commits !== nth) return store.commit(claim, commit);
      if (reachesStore) await store.commit(claim, commit);
      onCrash(claim, commit);
      throw new Error(`simulated crash ${reachesStore ? 'after' : 'before'} the commit`);
    },
  });
}
