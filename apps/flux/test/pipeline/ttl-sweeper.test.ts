/**
 * Entity ttl through the real pipeline (ingest, LMDB log, reducers, LMDB state): the sweeper
 * appends a tombstone conditioned on the version it saw, so an update that lands first wins,
 * and a replay of the log from scratch ends in the same state.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { partitionFor, TTL_SOURCE, type StoredEvent } from '@flux/domain';
import { TtlSweeper, type PartitionStateWriter } from '@flux/core';
import { envelope, OPEN, silentLogger, usePipelines, type Pipeline } from './support.js';

const { dir, open, close } = usePipelines();

const decisions = (history: readonly StoredEvent[]): string[] =>
  [...history].reverse().map((stored) => (stored.rejected === undefined ? `v${stored.version}` : `rejected@${stored.rejected.currentVersion}`));

/** A sweeper of the entity's partition whose clock reads `now`; `store` defaults to the pipeline's. */
function sweeperFor(flux: Pipeline, id: string, now: () => number, store: PartitionStateWriter = flux.embedded.state): TtlSweeper {
  const partition = partitionFor(id, flux.embedded.log.partitionCount);
  return new TtlSweeper({
    partition,
    log: flux.embedded.log,
    store,
    logger: silentLogger,
    settings: { intervalMs: 60_000, maxPerTick: 100 },
    appliedOffset: () => -1,
    now,
  });
}

describe('ttl sweeper', () => {
  it('deletes an expired entity through the log, and only once it expired', async () => {
    const flux = await open();
    await flux.startReducers();
    await flux.ingest.publish(envelope('ns/agent', { up: true }, { ttl_seconds: 30 }), OPEN, undefined, { applied: true });
    const { ttl } = (await flux.embedded.state.getEntity('ns/agent'))!;
    let now = ttl!.expiresAt - 1;
    const sweeper = sweeperFor(flux, 'ns/agent', () => now);
    expect(await sweeper.sweep()).toEqual([]);
    now = ttl!.expiresAt;
    const [tombstone] = await sweeper.sweep();
    expect(tombstone).toMatchObject({ source: TTL_SOURCE, if_version: 1, payload: { entity_id: 'ns/agent', properties: { __deleted__: true } } });
    // Appended and not applied yet: the next tick does not append it again.
    expect(await sweeper.sweep()).toEqual([]);
    await flux.settle();
    expect(await flux.embedded.state.getEntity('ns/agent')).toBeUndefined();
    expect(await flux.embedded.state.expiredEntities(partitionFor('ns/agent', 4), Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    expect(decisions(await flux.embedded.state.history('ns/agent', { sinceMs: 0, limit: 10 }))).toEqual(['v1', 'v0']);
  });

  it('an update appended between the sweeper reading the entity and its tombstone wins', async () => {
    const flux = await open();
    await flux.startReducers();
    await flux.ingest.publish(envelope('ns/agent', { beat: 1 }, { ttl_seconds: 30 }), OPEN, undefined, { applied: true });
    const expiresAt = (await flux.embedded.state.getEntity('ns/agent'))!.ttl!.expiresAt;
    const state = flux.embedded.state;
    const racing: PartitionStateWriter = {
      claimPartition: (partition) => state.claimPartition(partition),
      claimEpoch: (partition) => state.claimEpoch(partition),
      commit: (claim, commit) => state.commit(claim, commit),
      expiredEntities: (partition, nowMs, limit) => state.expiredEntities(partition, nowMs, limit),
      async loadEntities(partition, ids) {
        const loaded = await state.loadEntities(partition, ids);
        // A heartbeat reaches the log after the sweeper read version 1, before its tombstone.
        await flux.ingest.publish(envelope('ns/agent', { beat: 2 }), OPEN);
        return loaded;
      },
    };
    expect(await sweeperFor(flux, 'ns/agent', () => expiresAt, racing).sweep()).toHaveLength(1);
    await flux.settle();
    const entity = await flux.embedded.state.getEntity('ns/agent');
    expect(entity).toMatchObject({ version: 2, properties: { beat: 2 }, ttl: { seconds: 30 } });
    expect(entity!.ttl!.expiresAt).toBe(entity!.lastUpdated + 30_000);
    expect(decisions(await flux.embedded.state.history('ns/agent', { sinceMs: 0, limit: 10 }))).toEqual(['v1', 'v2', 'rejected@2']);

    // A replay of the same log from scratch decides the same and rebuilds the same index.
    await close(flux);
    await rm(join(dir().path, 'state'), { recursive: true, force: true });
    const replayed = await open();
    await replayed.startReducers();
    expect(await replayed.embedded.state.getEntity('ns/agent')).toEqual(entity);
    const partition = partitionFor('ns/agent', 4);
    expect(await replayed.embedded.state.expiredEntities(partition, entity!.ttl!.expiresAt - 1, 10)).toEqual([]);
    expect(await replayed.embedded.state.expiredEntities(partition, entity!.ttl!.expiresAt, 10)).toEqual(['ns/agent']);
  });
});
