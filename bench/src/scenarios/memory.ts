/**
 * Resident memory of the embedded server with many entities: on a fresh deployment (so nothing
 * else has touched its heap), load the entities by batch ingest, wait until every one is
 * visible, let the process settle, then read VmRSS and the peak VmHWM from /proc.
 */
import { batchLoad, type BatchLoadResult } from '../batch-load.js';
import { EntitySet } from '../entity-set.js';
import { delay } from '../process-group.js';
import type { ScenarioContext } from './scenario-context.js';

export interface MemoryResult {
  readonly entities: number;
  /** Right after start-up, before any load. */
  readonly idleRssBytes: number;
  /** After loading and settling. */
  readonly rssBytes: number;
  /** The most the process was resident at any time, loading included. */
  readonly peakRssBytes: number;
  /** The loaded RSS split into private memory (heap) and resident pages of mapped files (the LMDB map). */
  readonly anonRssBytes: number;
  readonly fileRssBytes: number;
  readonly settleMs: number;
  readonly load: BatchLoadResult;
}

type MemoryFigures = Pick<MemoryResult, 'rssBytes' | 'peakRssBytes' | 'anonRssBytes' | 'fileRssBytes'>;

function serverMemory(context: ScenarioContext): MemoryFigures {
  const processes = context.deployment.memory();
  if (processes.length === 0) throw new Error('the server process is gone');
  const sum = (field: keyof MemoryFigures): number => processes.reduce((total, process) => total + process[field], 0);
  return { rssBytes: sum('rssBytes'), peakRssBytes: sum('peakRssBytes'), anonRssBytes: sum('anonRssBytes'), fileRssBytes: sum('fileRssBytes') };
}

export async function memory(context: ScenarioContext): Promise<MemoryResult> {
  const { deployment, profile, log } = context;
  const parameters = profile.memory;
  const idle = serverMemory(context);
  log(`memory: loading ${parameters.entities} entities`);
  const load = await batchLoad({
    baseUrl: deployment.baseUrl,
    set: new EntitySet(`${context.idPrefix}memory/`, parameters.entities, Math.max(1, Math.round(parameters.entities / 1000))),
    events: parameters.entities,
    batchSize: parameters.batchSize,
    concurrency: parameters.concurrency,
    materialiseTimeoutMs: 600_000,
    serverCpuSeconds: deployment.cpuSeconds,
  });
  await delay(parameters.settleMs);
  const loaded = serverMemory(context);
  return {
    entities: parameters.entities,
    idleRssBytes: idle.rssBytes,
    ...loaded,
    settleMs: parameters.settleMs,
    load,
  };
}
