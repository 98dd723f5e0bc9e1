import { afterEach, describe, expect, it } from 'vitest';
import { credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { Collector, within } from '@flux/core/testing';
import { MemoryChangeFeed } from '@flux/core';
import {
  createStateServiceServer,
  HealthClient,
  ServingStatus,
  silentLogger,
  STATE_SERVICE_NAME,
  type StateServiceServerHandle,
} from '../src/index.js';
import type { HealthCheckResponse } from '../src/generated/grpc/health/v1/health.js';

const emptyReader = {
  getEntity: async () => undefined,
  getEntityJson: async () => undefined,
  listEntities: async () => ({ entities: [] }),
  history: async () => [],
  counts: async () => ({ total: 0, byNamespace: {} }),
  eventsApplied: async () => 0,
};

describe('grpc.health.v1.Health on a shard server', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(): Promise<{ handle: StateServiceServerHandle; health: HealthClient }> {
    const handle = createStateServiceServer({ reader: emptyReader, feed: new MemoryChangeFeed(), partitions: [0], logger: silentLogger });
    const port = await handle.listen('127.0.0.1:0');
    const health = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
    cleanups.push(() => handle.shutdown(200));
    cleanups.push(() => health.close());
    return { handle, health };
  }

  const check = (health: HealthClient, service: string): Promise<ServingStatus> =>
    new Promise((resolve, reject) =>
      health.check({ service }, new Metadata(), { deadline: Date.now() + 2_000 }, (error, response) =>
        error ? reject(error) : resolve(response.status),
      ),
    );

  it('is NOT_SERVING until told ready, then SERVING, for the server and the state service', async () => {
    const { handle, health } = await start();
    expect(await check(health, '')).toBe(ServingStatus.NOT_SERVING);
    expect(await check(health, STATE_SERVICE_NAME)).toBe(ServingStatus.NOT_SERVING);
    handle.setReady();
    expect(await check(health, '')).toBe(ServingStatus.SERVING);
    expect(await check(health, STATE_SERVICE_NAME)).toBe(ServingStatus.SERVING);
    handle.setNotServing();
    expect(await check(health, '')).toBe(ServingStatus.NOT_SERVING);
  });

  it('answers NOT_FOUND for an unknown service', async () => {
    const { health } = await start();
    const error = await check(health, 'no.such.Service').then(
      () => undefined,
      (e: ServiceError) => e,
    );
    expect(error?.code).toBe(GrpcStatus.NOT_FOUND);
  });

  it('lists every service with its status', async () => {
    const { handle, health } = await start();
    handle.setReady();
    const statuses = await new Promise<Map<string, HealthCheckResponse>>((resolve, reject) =>
      health.list({}, (error, response) => (error ? reject(error) : resolve(response.statuses))),
    );
    expect([...statuses].sort()).toEqual([
      ['', { status: ServingStatus.SERVING }],
      [STATE_SERVICE_NAME, { status: ServingStatus.SERVING }],
    ]);
  });

  it('streams status changes to watchers, and NOT_SERVING on shutdown', async () => {
    const { handle, health } = await start();
    const seen = new Collector<ServingStatus>();
    const unknown = new Collector<ServingStatus>();
    const watch = health.watch({ service: '' });
    watch.on('data', (response: HealthCheckResponse) => seen.push(response.status));
    const ended = new Promise<void>((resolve) => watch.on('end', resolve));
    const other = health.watch({ service: 'later.Service' });
    other.on('data', (response: HealthCheckResponse) => unknown.push(response.status));
    other.on('error', () => undefined);
    cleanups.push(() => other.cancel());

    await seen.untilCount(1, 'the current status');
    expect(seen.items).toEqual([ServingStatus.NOT_SERVING]);
    await unknown.untilCount(1, 'the unknown service status');
    expect(unknown.items).toEqual([ServingStatus.SERVICE_UNKNOWN]);

    handle.setReady();
    await seen.untilCount(2, 'SERVING');
    handle.health.set('later.Service', ServingStatus.SERVING);
    await unknown.untilCount(2, 'the service becoming known');
    expect(unknown.items).toEqual([ServingStatus.SERVICE_UNKNOWN, ServingStatus.SERVING]);

    await handle.shutdown(500);
    await within(ended, 'the health watch to end on shutdown');
    expect(seen.items).toEqual([ServingStatus.NOT_SERVING, ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    // Ready after shutdown does not bring it back.
    handle.setReady();
    expect(handle.health.get('')).toBe(ServingStatus.NOT_SERVING);
  });
});
