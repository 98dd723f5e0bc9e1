/**
 * Runtime configuration (contract section 8, invariant 5): persisted in the shared control
 * store, validated on update, surviving restarts, and reaching every instance at once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RUNTIME_CONFIG, ErrorCode, type RuntimeConfig } from '@flux/domain';
import { RuntimeConfigService } from '@flux/core';
import { Collector } from '@flux/core/testing';
import { LmdbControlStore } from '@flux/embedded';
import { tempDir, type TempDir } from './support.js';

let dir: TempDir;
const stores: LmdbControlStore[] = [];
const services: RuntimeConfigService[] = [];

beforeEach(async () => {
  dir = await tempDir();
});

afterEach(async () => {
  for (const service of services.splice(0)) service.close();
  for (const store of stores.splice(0)) await store.close();
  await dir.remove();
});

function openStore(): LmdbControlStore {
  const store = LmdbControlStore.openIn(dir.path);
  stores.push(store);
  return store;
}

async function load(store: LmdbControlStore, initial: RuntimeConfig = DEFAULT_RUNTIME_CONFIG): Promise<RuntimeConfigService> {
  const service = await RuntimeConfigService.load(store, initial);
  services.push(service);
  return service;
}

const initial: RuntimeConfig = { ...DEFAULT_RUNTIME_CONFIG, rate_limit_per_namespace_per_minute: 60 };

describe('RuntimeConfigService', () => {
  it('persists the initial config on first load, and later loads keep the persisted one', async () => {
    const store = openStore();
    expect(await store.getRuntimeConfig()).toBeUndefined();
    const service = await load(store, initial);
    expect(service.current).toEqual(initial);
    expect(await store.getRuntimeConfig()).toEqual(initial);

    // A restart with different environment defaults does not override what an admin set.
    const other = await load(store, { ...initial, rate_limit_enabled: false, rate_limit_per_namespace_per_minute: 1 });
    expect(other.current).toEqual(initial);
  });

  it('applies a partial update, returning and persisting the full config', async () => {
    const store = openStore();
    const service = await load(store, initial);
    const updated = await service.update({ rate_limit_per_namespace_per_minute: 120, body_size_limit_single_bytes: 2048 });
    const expected = { ...initial, rate_limit_per_namespace_per_minute: 120, body_size_limit_single_bytes: 2048 };
    expect(updated).toEqual(expected);
    expect(service.current).toEqual(expected);
    expect(await store.getRuntimeConfig()).toEqual(expected);
    await expect(service.update({})).resolves.toEqual(expected);
  });

  it('rejects invalid updates as validation errors and changes nothing', async () => {
    const store = openStore();
    const service = await load(store, initial);
    const seen = new Collector<RuntimeConfig>();
    service.onChange(seen.push);
    const invalid: unknown[] = [
      { rate_limit_per_namespace_per_minute: -1 },
      { rate_limit_per_namespace_per_minute: 1.5 },
      { rate_limit_enabled: 'yes' },
      { body_size_limit_batch_bytes: '10' },
      { body_size_limit_single_bytes: null },
      { body_size_limit_single_bytes: 1024 ** 4 },
      { unknown_key: 1 },
      { rate_limit_per_namespace_per_minute: 10, rate_limit_enabled: 1 },
      null,
      [],
      'rate_limit_enabled=false',
    ];
    for (const update of invalid) {
      await expect(service.update(update), JSON.stringify(update)).rejects.toMatchObject({ code: ErrorCode.Validation });
    }
    expect(service.current).toEqual(initial);
    expect(await store.getRuntimeConfig()).toEqual(initial);
    expect(seen.items).toEqual([]);
  });

  it('keeps an update across a reopen of the data directory', async () => {
    const first = openStore();
    const service = await load(first, initial);
    await service.update({ rate_limit_enabled: false, body_size_limit_batch_bytes: 65_536 });
    service.close();
    await first.close();

    const reopened = await load(openStore(), DEFAULT_RUNTIME_CONFIG);
    expect(reopened.current).toEqual({ ...initial, rate_limit_enabled: false, body_size_limit_batch_bytes: 65_536 });
  });

  it('another service on the same control store sees an update at once, through its watch', async () => {
    const store = openStore();
    const writer = await load(store, initial);
    const reader = await load(store, initial);
    const seen = new Collector<RuntimeConfig>();
    reader.onChange(seen.push);

    await writer.update({ rate_limit_per_namespace_per_minute: 7 });
    expect(reader.current.rate_limit_per_namespace_per_minute).toBe(7);
    expect(seen.items).toEqual([{ ...initial, rate_limit_per_namespace_per_minute: 7 }]);

    // And one on another store instance over the same data (another gateway of the deployment).
    const elsewhere = await load(openStore(), DEFAULT_RUNTIME_CONFIG);
    expect(elsewhere.current.rate_limit_per_namespace_per_minute).toBe(7);
    await reader.update({ rate_limit_enabled: false });
    expect(writer.current).toEqual({ ...initial, rate_limit_per_namespace_per_minute: 7, rate_limit_enabled: false });
    expect(elsewhere.current).toEqual(writer.current);

    // A closed service stops following.
    elsewhere.close();
    await writer.update({ rate_limit_per_namespace_per_minute: 8 });
    expect(elsewhere.current.rate_limit_per_namespace_per_minute).toBe(7);
    expect(reader.current.rate_limit_per_namespace_per_minute).toBe(8);
  });
});
