/**
 * What the reducer role shows on /metrics, on the embedded adapters the app uses: the lag of
 * each owned partition against the log's end, commits and their batches, and fencing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEnvelope } from '@flux/domain';
import { ClosingOrder, composeReducerRole, FluxMetrics, parseSettings, type PartitionStateWriter, type ReducerRole } from '@flux/core';
import { deferred, within, type Deferred } from '@flux/core/testing';
import { openEmbedded, type Embedded } from '@flux/embedded';
import { envelope, silentLogger, tempDir, type TempDir } from './support.js';

let dir: TempDir;
let embedded: Embedded;
let closing: ClosingOrder;

beforeEach(async () => {
  dir = await tempDir();
  embedded = await openEmbedded({ dataDir: dir.path, partitionCount: 2 });
  closing = new ClosingOrder(silentLogger);
});

afterEach(async () => {
  await closing.close();
  await embedded.close();
  await dir.remove();
});

/** The embedded store, with every commit held at `gate` while one is set. */
function gatedStore(gate: { current: Deferred<void> | undefined; holding: Deferred<void> }): Embedded['state'] {
  const state = embedded.state;
  return new Proxy(state, {
    get(target, property, receiver) {
      if (property !== 'commit') return Reflect.get(target, property, receiver) as unknown;
      const commit: PartitionStateWriter['commit'] = async (claim, batch) => {
        if (gate.current !== undefined) {
          gate.holding.resolve();
          await gate.current.promise;
        }
        return target.commit(claim, batch);
      };
      return commit;
    },
  });
}

function reducerRole(metrics: FluxMetrics, store: Embedded['state'], claimCheckIntervalMs?: number): ReducerRole {
  return composeReducerRole(
    {
      settings: parseSettings({}),
      partitions: [0, 1],
      log: embedded.log,
      store,
      feed: embedded.feed,
      metrics,
      logger: silentLogger,
      ...(claimCheckIntervalMs === undefined ? {} : { claimCheckIntervalMs }),
    },
    closing,
  );
}

const appendTo = (partition: number, count: number) =>
  embedded.log.append(
    Array.from({ length: count }, (_, n) => {
      const id = `metrics/p${partition}-${n}`;
      return { partition, key: id, value: JSON.stringify(parseEnvelope(envelope(id, { n }))) };
    }),
  );

const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('reducer metrics', () => {
  it('report the lag of a partition while its commit is held, then 0 with the commit, batch and events counted', async () => {
    const metrics = new FluxMetrics();
    const gate = { current: undefined as Deferred<void> | undefined, holding: deferred() };
    const role = reducerRole(metrics, gatedStore(gate));
    await role.start();
    const idle = await metrics.registry.metrics();
    expect(sample(idle, 'flux_reducer_partitions_owned')).toBe(2);
    expect(sample(idle, 'flux_reducer_lag_events{partition="0"}')).toBe(0);
    expect(sample(idle, 'flux_reducer_lag_events{partition="1"}')).toBe(0);

    gate.current = deferred();
    await appendTo(0, 3);
    await within(gate.holding.promise, 'the reducer of partition 0 to reach its commit');
    expect(sample(await metrics.registry.metrics(), 'flux_reducer_lag_events{partition="0"}')).toBe(3);

    const release = gate.current;
    gate.current = undefined;
    release.resolve();
    await within(role.reducers.waitFor([{ partition: 0, offset: 2 }]), 'partition 0 to apply offsets 0..2');
    const after = await metrics.registry.metrics();
    expect(sample(after, 'flux_reducer_lag_events{partition="0"}')).toBe(0);
    expect(sample(after, 'flux_events_applied_total{partition="0"}')).toBe(3);
    expect(sample(after, 'flux_reducer_batch_records_sum')).toBe(3);
    expect(sample(after, 'flux_reducer_commit_duration_seconds_count')).toBeGreaterThanOrEqual(1);
  });

  it('count a commit refused by the fence, and stop counting the partition as owned', async () => {
    const metrics = new FluxMetrics();
    const role = reducerRole(metrics, embedded.state);
    await role.start();
    const failure = role.failed.catch((error: unknown) => error);
    // Another owner claims partition 1; the next commit there meets the fence.
    await embedded.state.claimPartition(1);
    await appendTo(1, 1);
    await within(failure, 'the fenced reducer to fail');

    const text = await metrics.registry.metrics();
    expect(sample(text, 'flux_reducer_fenced_total{partition="1",detected_by="commit"}')).toBe(1);
    expect(sample(text, 'flux_reducer_partitions_owned')).toBe(1);
    expect(sample(text, 'flux_reducer_lag_events{partition="1"}')).toBeUndefined();
    expect(sample(text, 'flux_reducer_lag_events{partition="0"}')).toBe(0);
  });

  it('count a newer claim found by the claim check', async () => {
    const metrics = new FluxMetrics();
    const role = reducerRole(metrics, embedded.state, 20);
    await role.start();
    const failure = role.failed.catch((error: unknown) => error);
    await embedded.state.claimPartition(0);
    await within(failure, 'the claim check to find the newer claim');

    const text = await metrics.registry.metrics();
    expect(sample(text, 'flux_reducer_fenced_total{partition="0",detected_by="claim_check"}')).toBe(1);
    expect(sample(text, 'flux_reducer_partitions_owned')).toBe(1);
  });
});
