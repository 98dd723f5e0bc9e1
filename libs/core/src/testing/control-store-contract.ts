import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RUNTIME_CONFIG, type RuntimeConfig } from '@flux/domain';
import type { ConnectorState, ControlStore, NamespaceRecord, PendingAuthorization, StoredCredential, StoredSource } from '../ports/control-store.js';
import { Collector, quietPeriod } from './async.js';
import { useContractFixture, type ContractFixture } from './fixture.js';

export type ControlStoreFactory = () => Promise<ContractFixture<ControlStore>>;

const T0 = 1_767_000_000_000;

const hashOf = (token: string): string => createHash('sha256').update(token).digest('hex');

const namespace = (name: string, token = `token-of-${name}`): NamespaceRecord => ({
  namespaceId: `id-${name}`,
  name,
  createdAt: T0,
  tokenHash: hashOf(token),
});

const credential = (owner: string, connector: string, secret = 'secret'): StoredCredential => ({
  connector,
  owner,
  ciphertext: Buffer.from(`${owner}/${connector}/${secret}`).toString('base64'),
  iv: 'aXYtYnl0ZXMtMTI=',
  authTag: 'dGFnLWJ5dGVzLTE2LWxvbmc=',
  createdAt: T0,
});

const source = (owner: string, id: string, url = 'https://example.com/items'): StoredSource => ({
  id,
  owner,
  name: `source ${id}`,
  url,
  pollIntervalSeconds: 60,
  entityKey: '$.id',
  entityPrefix: 'items',
  itemsPath: '$.items',
  properties: { title: '$.title' },
  auth: { kind: 'header', name: 'x-api-key' },
  secret: { ciphertext: 'Y2lwaGVy', iv: 'aXYtYnl0ZXMtMTI=', authTag: 'dGFnLWJ5dGVzLTE2LWxvbmc=' },
  onDisappear: { kind: 'mark', property: 'gone' },
  paused: false,
  createdAt: T0,
  updatedAt: T0,
});

const config = (perMinute: number): RuntimeConfig => ({ ...DEFAULT_RUNTIME_CONFIG, rate_limit_per_namespace_per_minute: perMinute });

const byName = (a: NamespaceRecord, b: NamespaceRecord): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const credentialKey = (c: StoredCredential): string => `${c.owner}\u0000${c.connector}`;
const byOwnerAndConnector = (a: StoredCredential, b: StoredCredential): number =>
  credentialKey(a) < credentialKey(b) ? -1 : credentialKey(a) > credentialKey(b) ? 1 : 0;

/**
 * The behaviour every ControlStore adapter (embedded LMDB, Redis) must show. `factory` creates a
 * fixture whose store starts empty; `open` may be called while another instance is open, and
 * both must then see the same data (as gateway replicas do).
 */
export function describeControlStoreContract(name: string, factory: ControlStoreFactory): void {
  describe(`ControlStore contract: ${name}`, () => {
    const fixture = useContractFixture(factory, (store) => store.close());

    describe('namespaces', () => {
      it('creates a namespace once and finds it by name and by token hash', async () => {
        const store = await fixture.open();
        const record = namespace('dawn-coral');
        expect(await store.createNamespace(record)).toBe(true);
        expect(await store.getNamespace('dawn-coral')).toEqual(record);
        expect(await store.findNamespaceByTokenHash(record.tokenHash)).toEqual(record);

        const rival = { ...namespace('dawn-coral', 'another-token'), namespaceId: 'id-rival' };
        expect(await store.createNamespace(rival)).toBe(false);
        expect(await store.getNamespace('dawn-coral')).toEqual(record);
        expect(await store.findNamespaceByTokenHash(rival.tokenHash)).toBeUndefined();

        expect(await store.getNamespace('unknown')).toBeUndefined();
        expect(await store.findNamespaceByTokenHash(hashOf('unknown'))).toBeUndefined();
      });

      it('lets only one of two concurrent creations of a name win', async () => {
        const store = await fixture.open();
        const results = await Promise.all([
          store.createNamespace(namespace('contested', 'first')),
          store.createNamespace(namespace('contested', 'second')),
        ]);
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = await store.getNamespace('contested');
        expect(await store.findNamespaceByTokenHash(winner!.tokenHash)).toEqual(winner);
        const loserHash = winner!.tokenHash === hashOf('first') ? hashOf('second') : hashOf('first');
        expect(await store.findNamespaceByTokenHash(loserHash)).toBeUndefined();
      });

      it('deletes a namespace together with its token', async () => {
        const store = await fixture.open();
        const record = namespace('short-lived');
        await store.createNamespace(record);
        await store.createNamespace(namespace('stays'));
        expect(await store.deleteNamespace('short-lived')).toBe(true);
        expect(await store.getNamespace('short-lived')).toBeUndefined();
        expect(await store.findNamespaceByTokenHash(record.tokenHash)).toBeUndefined();
        expect(await store.deleteNamespace('short-lived')).toBe(false);
        expect(await store.deleteNamespace('never-was')).toBe(false);
        expect(await store.getNamespace('stays')).toEqual(namespace('stays'));

        // The name is free again, with a new token; the old one stays dead.
        const renewed = namespace('short-lived', 'new-token');
        expect(await store.createNamespace(renewed)).toBe(true);
        expect(await store.findNamespaceByTokenHash(renewed.tokenHash)).toEqual(renewed);
        expect(await store.findNamespaceByTokenHash(record.tokenHash)).toBeUndefined();
      });

      it('lists every namespace', async () => {
        const store = await fixture.open();
        expect(await store.listNamespaces()).toEqual([]);
        const records = ['zeta-ns', 'alpha-ns', 'mid_ns'].map((n) => namespace(n));
        for (const record of records) await store.createNamespace(record);
        expect([...(await store.listNamespaces())].sort(byName)).toEqual([...records].sort(byName));
      });
    });

    describe('runtime config', () => {
      it('is undefined before the first write and returns the latest write', async () => {
        const store = await fixture.open();
        expect(await store.getRuntimeConfig()).toBeUndefined();
        await store.putRuntimeConfig(config(50));
        expect(await store.getRuntimeConfig()).toEqual(config(50));
        const changed: RuntimeConfig = { ...config(7), rate_limit_enabled: false, body_size_limit_batch_bytes: 1 };
        await store.putRuntimeConfig(changed);
        expect(await store.getRuntimeConfig()).toEqual(changed);
      });

      it('notifies watchers of every write until they unsubscribe', async () => {
        const store = await fixture.open();
        const watcher = new Collector<RuntimeConfig>();
        const witness = new Collector<RuntimeConfig>();
        const unsubscribe = store.watchRuntimeConfig(watcher.push);
        store.watchRuntimeConfig(witness.push);

        await store.putRuntimeConfig(config(1));
        await store.putRuntimeConfig(config(2));
        await watcher.untilCount(2, 'two config writes');
        expect(watcher.items.map((c) => c.rate_limit_per_namespace_per_minute)).toEqual([1, 2]);
        expect(watcher.items[1]).toEqual(config(2));

        unsubscribe();
        unsubscribe(); // harmless twice
        await store.putRuntimeConfig(config(3));
        await witness.untilCount(3, 'the write after unsubscribing');
        await quietPeriod(20);
        expect(watcher.items).toHaveLength(2);
      });

      it('reaches watchers of another instance on the same data', async () => {
        const writer = await fixture.open();
        const reader = await fixture.open();
        const watcher = new Collector<RuntimeConfig>();
        reader.watchRuntimeConfig(watcher.push);
        await writer.putRuntimeConfig(config(42));
        await watcher.untilCount(1, 'a write from the other instance');
        expect(watcher.items[0]).toEqual(config(42));
        expect(await reader.getRuntimeConfig()).toEqual(config(42));
      });
    });

    describe('pending OAuth authorizations', () => {
      const pending = (state: string, expiresAt: number, owner = 'dawn-coral'): PendingAuthorization => ({
        state,
        owner,
        connector: 'github',
        codeVerifier: `verifier-of-${state}`,
        expiresAt,
      });

      it('hands a pending authorization out once, to any instance', async () => {
        const [writer, reader] = [await fixture.open(), await fixture.open()];
        const now = Date.now();
        const first = pending('state-one', now + 600_000);
        await writer.putPendingAuthorization(first);
        await writer.putPendingAuthorization(pending('state-two', now + 600_000, ''));
        expect(await reader.takePendingAuthorization('state-one', now)).toEqual(first);
        expect(await reader.takePendingAuthorization('state-one', now)).toBeUndefined();
        expect(await writer.takePendingAuthorization('state-one', now)).toBeUndefined();
        expect(await writer.takePendingAuthorization('state-unknown', now)).toBeUndefined();
        expect((await writer.takePendingAuthorization('state-two', now))?.owner).toBe('');
      });

      it('refuses an expired authorization and does not keep it', async () => {
        const store = await fixture.open();
        const now = Date.now();
        await store.putPendingAuthorization(pending('state-late', now + 1_000));
        expect(await store.takePendingAuthorization('state-late', now + 1_000)).toBeUndefined();
        expect(await store.takePendingAuthorization('state-late', now)).toBeUndefined();
      });
    });

    describe('credentials and connector state', () => {
      it('stores, replaces, lists and deletes credentials per owner and connector', async () => {
        const store = await fixture.open();
        expect(await store.getCredential('', 'github')).toBeUndefined();
        const internal = credential('', 'github');
        const owned = credential('dawn-coral', 'github');
        const other = credential('dawn-coral', 'weather');
        for (const c of [internal, owned, other]) await store.putCredential(c);

        expect(await store.getCredential('', 'github')).toEqual(internal);
        expect(await store.getCredential('dawn-coral', 'github')).toEqual(owned);
        expect([...(await store.listCredentials())].sort(byOwnerAndConnector)).toEqual([internal, owned, other].sort(byOwnerAndConnector));

        const replaced = credential('dawn-coral', 'github', 'rotated');
        await store.putCredential(replaced);
        expect(await store.getCredential('dawn-coral', 'github')).toEqual(replaced);
        expect(await store.listCredentials()).toHaveLength(3);

        expect(await store.deleteCredential('dawn-coral', 'github')).toBe(true);
        expect(await store.deleteCredential('dawn-coral', 'github')).toBe(false);
        expect(await store.getCredential('dawn-coral', 'github')).toBeUndefined();
        expect(await store.getCredential('', 'github')).toEqual(internal);
        expect(await store.listCredentials()).toHaveLength(2);
      });

      it('keeps connector state per owner and connector', async () => {
        const store = await fixture.open();
        expect(await store.getConnectorState('', 'github')).toBeUndefined();
        const healthy: ConnectorState = {
          lastPoll: T0,
          lastError: null,
          consecutiveFailures: 0,
          cursors: { repos: 'page-2' },
          schedule: { credentialVersion: `${T0}:iv`, nextPoll: T0 + 60_000, notBefore: null },
        };
        const failing: ConnectorState = {
          lastPoll: null,
          lastError: 'GitHub answered 401',
          consecutiveFailures: 3,
          cursors: JSON.parse('{"__proto__":"etag-1","issues":"etag-2"}') as Record<string, string>,
        };
        await store.putConnectorState('', 'github', healthy);
        await store.putConnectorState('dawn-coral', 'github', failing);
        expect(await store.getConnectorState('', 'github')).toEqual(healthy);
        const loaded = await store.getConnectorState('dawn-coral', 'github');
        expect(JSON.stringify(loaded)).toBe(JSON.stringify(failing));
        expect(Object.hasOwn(loaded!.cursors, '__proto__')).toBe(true);

        await store.putConnectorState('', 'github', { ...healthy, consecutiveFailures: 1 });
        expect((await store.getConnectorState('', 'github'))?.consecutiveFailures).toBe(1);
      });
    });

    describe('sources', () => {
      it('stores, replaces, lists (all or per owner) and deletes sources', async () => {
        const store = await fixture.open();
        expect(await store.getSource('dawn-coral', 's1')).toBeUndefined();
        expect(await store.listSources()).toEqual([]);
        const internal = source('', 's1');
        const owned = source('dawn-coral', 's1');
        const other = source('dawn-coral', 's2');
        for (const s of [internal, owned, other]) await store.putSource(s);

        expect(await store.getSource('', 's1')).toEqual(internal);
        expect(await store.getSource('dawn-coral', 's1')).toEqual(owned);
        expect(await store.getSource('other-ns', 's1')).toBeUndefined();
        expect(await store.listSources()).toHaveLength(3);
        const ids = (list: readonly StoredSource[]): string[] => list.map((s) => `${s.owner}/${s.id}`).sort();
        expect(ids(await store.listSources('dawn-coral'))).toEqual(['dawn-coral/s1', 'dawn-coral/s2']);
        expect(ids(await store.listSources(''))).toEqual(['/s1']);

        const tap: StoredSource = { ...source('dawn-coral', 's3', ''), tap: { name: 'tap-csv', entityKeyField: 'id', streamFilter: ['people'] } };
        await store.putSource(tap);
        expect(await store.getSource('dawn-coral', 's3')).toEqual(tap);
        expect(await store.deleteSource('dawn-coral', 's3')).toBe(true);

        const paused = { ...owned, paused: true, updatedAt: T0 + 1 };
        await store.putSource(paused);
        expect(await store.getSource('dawn-coral', 's1')).toEqual(paused);
        expect(await store.listSources()).toHaveLength(3);

        expect(await store.deleteSource('dawn-coral', 's1')).toBe(true);
        expect(await store.deleteSource('dawn-coral', 's1')).toBe(false);
        expect(await store.getSource('dawn-coral', 's1')).toBeUndefined();
        expect(await store.getSource('', 's1')).toEqual(internal);
        expect(await store.listSources()).toHaveLength(2);
      });
    });

    describe('persistence', () => {
      it('keeps namespaces, config, credentials and connector state across a reopen', async () => {
        let store = await fixture.open();
        const record = namespace('durable-ns');
        await store.createNamespace(record);
        await store.createNamespace(namespace('deleted-ns'));
        await store.deleteNamespace('deleted-ns');
        await store.putRuntimeConfig(config(99));
        await store.putCredential(credential('durable-ns', 'github'));
        const state: ConnectorState = { lastPoll: T0, lastError: null, consecutiveFailures: 0, cursors: {} };
        await store.putConnectorState('durable-ns', 'github', state);
        await store.putSource(source('durable-ns', 'kept'));

        store = await fixture.reopen(store);
        expect(await store.getSource('durable-ns', 'kept')).toEqual(source('durable-ns', 'kept'));
        expect(await store.getNamespace('durable-ns')).toEqual(record);
        expect(await store.findNamespaceByTokenHash(record.tokenHash)).toEqual(record);
        expect(await store.getNamespace('deleted-ns')).toBeUndefined();
        expect(await store.listNamespaces()).toEqual([record]);
        expect(await store.getRuntimeConfig()).toEqual(config(99));
        expect(await store.getCredential('durable-ns', 'github')).toEqual(credential('durable-ns', 'github'));
        expect(await store.getConnectorState('durable-ns', 'github')).toEqual(state);
      });
    });
  });
}
