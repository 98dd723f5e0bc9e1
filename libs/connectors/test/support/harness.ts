/**
 * The services the embedded server composes around the connector runtime, on real LMDB
 * environments in a temporary directory: ingest, reducers, ConnectorService, ControlStore.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Authorizer, ConnectorService, CredentialVault, IngestService, ReducerGroup, RuntimeConfigService } from '@flux/core';
import { within } from '@flux/core/testing';
import { decodeEvent, DEFAULT_RUNTIME_CONFIG, type FluxEvent, type StoredEntity } from '@flux/domain';
import { MemoryPollLease, openEmbedded, type Embedded } from '@flux/embedded';
import { ConnectorRuntime, connectorDefinitions, type Clock, type Connector, type ConnectorRuntimeOptions } from '@flux/connectors';

export const silentLogger = pino({ level: 'silent' });
/** One key per test process, so a data directory can be reopened. */
export const ENCRYPTION_KEY = randomBytes(32);

export interface TempDir {
  readonly path: string;
  remove(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), 'flux-connectors-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface HarnessOptions {
  readonly connectors: readonly Connector[];
  readonly clock?: Clock;
  readonly authEnabled?: boolean;
}

export interface Harness {
  readonly embedded: Embedded;
  readonly connectorService: ConnectorService;
  readonly ingest: IngestService;
  /** A runtime over this harness (not started). */
  runtime(options?: Partial<ConnectorRuntimeOptions>): ConnectorRuntime;
  /** Waits until the reducers applied everything the log holds. */
  settle(): Promise<void>;
  /** Every event in the log, in partition then offset order. */
  events(): Promise<FluxEvent[]>;
  entity(id: string): Promise<StoredEntity | undefined>;
  close(): Promise<void>;
}

export async function openHarness(dataDir: string, options: HarnessOptions): Promise<Harness> {
  const embedded = await openEmbedded({ dataDir, partitionCount: 4 });
  const { log, state, control, feed, rateLimiter } = embedded;
  const authorizer = new Authorizer({ authEnabled: options.authEnabled ?? false, adminToken: undefined, control });
  const runtimeConfig = await RuntimeConfigService.load(control, DEFAULT_RUNTIME_CONFIG);
  const ingest = new IngestService({ log, authorizer, rateLimiter, runtimeConfig });
  const clock = options.clock;
  const connectorService = new ConnectorService(
    control,
    new CredentialVault(ENCRYPTION_KEY),
    connectorDefinitions(options.connectors),
    clock === undefined ? Date.now : () => clock.now(),
  );
  const partitions = Array.from({ length: log.partitionCount }, (_, partition) => partition);
  const reducers = new ReducerGroup({ partitions, log, store: state, feed, logger: silentLogger });
  await within(reducers.start(), 'the reducers to recover');
  const runtimes: ConnectorRuntime[] = [];
  const endOffsets = () => Promise.all(partitions.map((partition) => log.endOffset(partition)));
  let closed: Promise<void> | undefined;

  return {
    embedded,
    connectorService,
    ingest,
    runtime(overrides = {}) {
      const runtime = new ConnectorRuntime({
        connectors: options.connectors,
        lease: new MemoryPollLease(clock === undefined ? undefined : () => clock.now()),
        control,
        credentials: connectorService,
        ingest,
        state,
        ...(clock === undefined ? {} : { clock }),
        publicMode: options.authEnabled ?? false,
        ...overrides,
      });
      runtimes.push(runtime);
      return runtime;
    },
    async settle() {
      const ends = await endOffsets();
      await within(reducers.waitFor(ends.map((end, partition) => ({ partition, offset: end - 1 }))), 'the reducers to apply the log');
    },
    async events() {
      const events: FluxEvent[] = [];
      for (const partition of partitions) {
        const records = await log.read(partition, 0, 1_000_000);
        events.push(...records.map((record) => decodeEvent(record.value)));
      }
      return events;
    },
    entity: (id) => state.getEntity(id),
    close() {
      closed ??= (async () => {
        await Promise.all(runtimes.map((runtime) => runtime.stop()));
        await reducers.stop();
        runtimeConfig.close();
        await embedded.close();
      })();
      return closed;
    },
  };
}
