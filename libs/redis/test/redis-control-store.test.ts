import { createHash } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RUNTIME_CONFIG, type RuntimeConfig } from '@flux/domain';
import type { NamespaceRecord } from '@flux/core';
import { Collector, describeWithRedis, waitFor } from '@flux/core/testing';
import { controlKeys, RedisControlStore } from '../src/index.js';
import { connect, deleteKeysWithPrefix, uniquePrefix } from './support.js';

const namespace = (name: string): NamespaceRecord => ({
  namespaceId: `id-${name}`,
  name,
  createdAt: 1_767_000_000_000,
  tokenHash: createHash('sha256').update(`token-of-${name}`).digest('hex'),
});

describeWithRedis('RedisControlStore (adapter)', (url) => {
  let prefix: string;
  let admin: Redis;
  const stores: RedisControlStore[] = [];

  const open = async (): Promise<RedisControlStore> => {
    const store = await RedisControlStore.open({ client: await connect(url), ownsClient: true, keyPrefix: prefix, onListenerError: () => undefined });
    stores.push(store);
    return store;
  };

  beforeEach(async () => {
    prefix = uniquePrefix();
    admin = await connect(url);
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await deleteKeysWithPrefix(admin, prefix);
    await admin.quit();
  });

  it('keeps namespaces named __proto__ and constructor as plain data', async () => {
    const store = await open();
    const names = ['__proto__', 'constructor', 'hasownproperty'];
    for (const name of names) expect(await store.createNamespace(namespace(name))).toBe(true);
    for (const name of names) {
      expect(await store.getNamespace(name)).toEqual(namespace(name));
      expect(await store.findNamespaceByTokenHash(namespace(name).tokenHash)).toEqual(namespace(name));
    }
    expect((await store.listNamespaces()).map((n) => n.name).sort()).toEqual([...names].sort());
    expect(await store.deleteNamespace('__proto__')).toBe(true);
    expect(await store.findNamespaceByTokenHash(namespace('__proto__').tokenHash)).toBeUndefined();
    expect(await store.getNamespace('constructor')).toEqual(namespace('constructor'));
  });

  it('keeps every control key in one hash slot, so its multi-key scripts run on Redis Cluster', () => {
    const keys = controlKeys(prefix);
    const all = [keys.namespaces, keys.tokens, keys.config, keys.credentials, keys.connectorStates];
    expect(calculateSlot.generateMulti(all)).toBe(calculateSlot('{control}'));
  });

  describe('runtime config', () => {
    it('reaches the watchers of every instance, from writes of any instance, in write order', async () => {
      const [one, two, three] = await Promise.all([open(), open(), open()]);
      const heardByOne = new Collector<RuntimeConfig>();
      const heardByThree = new Collector<RuntimeConfig>();
      one!.watchRuntimeConfig(heardByOne.push);
      three!.watchRuntimeConfig(heardByThree.push);
      const limits = [11, 12, 13, 14];
      for (const [i, limit] of limits.entries()) {
        const writer = [one, two, three][i % 3]!;
        await writer.putRuntimeConfig({ ...DEFAULT_RUNTIME_CONFIG, rate_limit_per_namespace_per_minute: limit });
      }
      await heardByOne.untilCount(4);
      await heardByThree.untilCount(4);
      expect(heardByOne.items.map((c) => c.rate_limit_per_namespace_per_minute)).toEqual(limits);
      expect(heardByThree.items).toEqual(heardByOne.items);
      expect(heardByOne.items[0]).toEqual({ ...DEFAULT_RUNTIME_CONFIG, rate_limit_per_namespace_per_minute: 11 });
      // Key order as the API shows it, whatever order Redis keeps the hash fields in.
      expect(Object.keys(heardByOne.items[0]!)).toEqual(Object.keys(DEFAULT_RUNTIME_CONFIG));
    });

    it('answers a write only once its announcement was delivered, so the next request finds it in effect', async () => {
      const [writer, other] = await Promise.all([open(), open()]);
      const heardByWriter: number[] = [];
      const heardByOther: number[] = [];
      writer!.watchRuntimeConfig((config) => heardByWriter.push(config.rate_limit_per_namespace_per_minute));
      other!.watchRuntimeConfig((config) => heardByOther.push(config.rate_limit_per_namespace_per_minute));
      await writer!.putRuntimeConfig({ ...DEFAULT_RUNTIME_CONFIG, rate_limit_per_namespace_per_minute: 21 });
      expect(heardByWriter).toEqual([21]);
      await writer!.updateRuntimeConfig({ rate_limit_per_namespace_per_minute: 22 }, DEFAULT_RUNTIME_CONFIG);
      expect(heardByWriter).toEqual([21, 22]);
      // Another instance's subscription gets the same announcement at about the same moment.
      await waitFor(() => heardByOther.length === 2, { timeoutMs: 1_000, what: 'the other instance to hear both writes' });
      expect(heardByOther).toEqual([21, 22]);
    });

    it('merges concurrent partial updates from two gateways without losing either', async () => {
      const [one, two] = await Promise.all([open(), open()]);
      await one!.putRuntimeConfig(DEFAULT_RUNTIME_CONFIG);
      const heard = new Collector<RuntimeConfig>();
      two!.watchRuntimeConfig(heard.push);
      // Both start from the same (now stale) view; with whole-config writes one update would be lost.
      const [a, b] = await Promise.all([
        one!.updateRuntimeConfig({ rate_limit_enabled: false }, DEFAULT_RUNTIME_CONFIG),
        two!.updateRuntimeConfig({ body_size_limit_single_bytes: 2048 }, DEFAULT_RUNTIME_CONFIG),
      ]);
      const merged: RuntimeConfig = { ...DEFAULT_RUNTIME_CONFIG, rate_limit_enabled: false, body_size_limit_single_bytes: 2048 };
      expect(await one!.getRuntimeConfig()).toEqual(merged);
      // Whichever ran second answered with the merge of both.
      expect([a, b]).toContainEqual(merged);
      // Watchers end on the merged config (the announcement of the put may arrive first).
      const isMerged = (c: RuntimeConfig): boolean => JSON.stringify(c) === JSON.stringify(merged);
      await heard.until((items) => items.some(isMerged), 'the merged config');
      expect(heard.items.at(-1)).toEqual(merged);
    });

    it('fills keys the store lacks from the base on the first partial update', async () => {
      const store = await open();
      const base: RuntimeConfig = { ...DEFAULT_RUNTIME_CONFIG, rate_limit_per_namespace_per_minute: 5 };
      expect(await store.updateRuntimeConfig({ body_size_limit_batch_bytes: 99 }, base)).toEqual({ ...base, body_size_limit_batch_bytes: 99 });
      expect(await store.getRuntimeConfig()).toEqual({ ...base, body_size_limit_batch_bytes: 99 });
    });

    it('hands a watcher the stored config again after its subscription connection dropped', async () => {
      const [writer, reader] = await Promise.all([open(), open()]);
      const heard = new Collector<RuntimeConfig>();
      reader!.watchRuntimeConfig(heard.push);
      // Cut the reader's subscriber socket, then write: the message may be published while it
      // is disconnected, and must not be lost for good.
      const subscriber = (reader as unknown as { subscriber: Redis }).subscriber;
      subscriber.stream.destroy();
      await writer!.putRuntimeConfig({ ...DEFAULT_RUNTIME_CONFIG, rate_limit_per_namespace_per_minute: 77 });
      await heard.until((items) => items.some((c) => c.rate_limit_per_namespace_per_minute === 77), 'the config written during the outage');
    });

    it('stops delivering after close', async () => {
      const [writer, reader] = await Promise.all([open(), open()]);
      const heard = new Collector<RuntimeConfig>();
      const witness = new Collector<RuntimeConfig>();
      reader!.watchRuntimeConfig(heard.push);
      writer!.watchRuntimeConfig(witness.push);
      await reader!.close();
      await writer!.putRuntimeConfig(DEFAULT_RUNTIME_CONFIG);
      await witness.untilCount(1);
      expect(heard.items).toEqual([]);
    });
  });
});
