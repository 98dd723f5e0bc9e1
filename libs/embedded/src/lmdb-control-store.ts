import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import type { RuntimeConfig } from '@flux/domain';
import type {
  ConnectorState,
  ControlStore,
  ListenerErrorHandler,
  NamespaceRecord,
  PendingAuthorization,
  StoredCredential,
  StoredSource,
  Unsubscribe,
} from '@flux/core';
import { notifyConfigWritten, watchConfig } from './config-watchers.js';
import { openLmdbEnvironment } from './lmdb-environment.js';

// `void db.put(...)`/`void db.remove(...)`: inside a transaction callback lmdb applies the write at
// once, and the transaction's own promise (awaited by the caller) reports whether it committed.

export interface LmdbControlStoreOptions {
  /** Directory of the store's own LMDB environment (created when missing). */
  readonly path: string;
  /** Where exceptions thrown by config watchers go (default: a process warning). */
  readonly onListenerError?: ListenerErrorHandler;
}

/** [owner, connector]; owner is '' for instance-wide entries (ordered-binary accepts ''). */
type OwnedKey = [owner: string, connector: string];

const RUNTIME_CONFIG = 'runtime-config';
/** Pending authorizations this much older than a new one's expiry are long expired and removed. */
const PENDING_SWEEP_AGE_MS = 24 * 60 * 60 * 1000;

/*
 * Values are JSON strings: they round-trip `__proto__` keys (connector cursors are free-form)
 * as own data, which lmdb's default msgpack encoding does not.
 */
const parse = <T>(json: string | undefined): T | undefined => (json === undefined ? undefined : (JSON.parse(json) as T));

/**
 * Control-plane data (namespaces, token hashes, runtime config, connector credentials and
 * state) in its own LMDB environment. Writes resolve once durable; config watchers hear about
 * a write after it committed.
 */
export class LmdbControlStore implements ControlStore {
  private readonly namespaces: Database<string, string>;
  /** Token hash → namespace name: the lookup every authenticated request makes. */
  private readonly tokens: Database<string, string>;
  private readonly settings: Database<string, string>;
  private readonly credentials: Database<string, OwnedKey>;
  private readonly connectorStates: Database<string, OwnedKey>;
  /** [owner, id] → source. */
  private readonly sources: Database<string, OwnedKey>;
  /** OAuth state → PendingAuthorization. */
  private readonly authorizations: Database<string, string>;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly root: RootDatabase,
    /** Identifies the data directory among the instances of this process (for watchers). */
    private readonly identity: string,
    private readonly onListenerError: ListenerErrorHandler | undefined,
  ) {
    this.namespaces = root.openDB<string, string>('namespaces', { encoding: 'string' });
    this.tokens = root.openDB<string, string>('namespace-tokens', { encoding: 'string' });
    this.settings = root.openDB<string, string>('settings', { encoding: 'string' });
    this.credentials = root.openDB<string, OwnedKey>('credentials', { encoding: 'string' });
    this.connectorStates = root.openDB<string, OwnedKey>('connector-states', { encoding: 'string' });
    this.sources = root.openDB<string, OwnedKey>('sources', { encoding: 'string' });
    this.authorizations = root.openDB<string, string>('oauth-authorizations', { encoding: 'string' });
  }

  static open(options: LmdbControlStoreOptions): LmdbControlStore {
    const root = openLmdbEnvironment(options.path);
    return new LmdbControlStore(root, realpathSync(options.path), options.onListenerError);
  }

  /** The store inside an embedded data directory (`<dataDir>/control`). */
  static openIn(dataDir: string, options: Omit<LmdbControlStoreOptions, 'path'> = {}): LmdbControlStore {
    return LmdbControlStore.open({ ...options, path: join(dataDir, 'control') });
  }

  createNamespace(record: NamespaceRecord): Promise<boolean> {
    // Check and write in one transaction: of two concurrent creations exactly one wins.
    return this.namespaces.childTransaction(() => {
      if (this.namespaces.doesExist(record.name)) return false;
      void this.namespaces.put(record.name, JSON.stringify(record));
      void this.tokens.put(record.tokenHash, record.name);
      return true;
    });
  }

  async getNamespace(name: string): Promise<NamespaceRecord | undefined> {
    return parse<NamespaceRecord>(this.namespaces.get(name));
  }

  async findNamespaceByTokenHash(tokenHash: string): Promise<NamespaceRecord | undefined> {
    const name = this.tokens.get(tokenHash);
    if (name === undefined) return undefined;
    const record = parse<NamespaceRecord>(this.namespaces.get(name));
    // The index is written with the record; checking it again costs nothing and means a
    // stale index entry can never authenticate anyone.
    return record?.tokenHash === tokenHash ? record : undefined;
  }

  deleteNamespace(name: string): Promise<boolean> {
    return this.namespaces.childTransaction(() => {
      const record = parse<NamespaceRecord>(this.namespaces.get(name));
      if (record === undefined) return false;
      void this.namespaces.remove(name);
      if (this.tokens.get(record.tokenHash) === name) void this.tokens.remove(record.tokenHash);
      return true;
    });
  }

  async listNamespaces(): Promise<readonly NamespaceRecord[]> {
    return [...this.namespaces.getRange({})].map(({ value }) => JSON.parse(value) as NamespaceRecord);
  }

  async getRuntimeConfig(): Promise<RuntimeConfig | undefined> {
    return parse<RuntimeConfig>(this.settings.get(RUNTIME_CONFIG));
  }

  async putRuntimeConfig(config: RuntimeConfig): Promise<void> {
    await this.settings.put(RUNTIME_CONFIG, JSON.stringify(config));
    // Watchers get a copy of what was stored, so none can change what another one sees.
    notifyConfigWritten(this.identity, JSON.parse(JSON.stringify(config)) as RuntimeConfig);
  }

  watchRuntimeConfig(listener: (config: RuntimeConfig) => void): Unsubscribe {
    return watchConfig(this.identity, listener, this.onListenerError);
  }

  async putCredential(credential: StoredCredential): Promise<void> {
    await this.credentials.put([credential.owner, credential.connector], JSON.stringify(credential));
  }

  async getCredential(owner: string, connector: string): Promise<StoredCredential | undefined> {
    return parse<StoredCredential>(this.credentials.get([owner, connector]));
  }

  deleteCredential(owner: string, connector: string): Promise<boolean> {
    return this.credentials.childTransaction(() => {
      if (!this.credentials.doesExist([owner, connector])) return false;
      void this.credentials.remove([owner, connector]);
      return true;
    });
  }

  async listCredentials(): Promise<readonly StoredCredential[]> {
    return [...this.credentials.getRange({})].map(({ value }) => JSON.parse(value) as StoredCredential);
  }

  async getConnectorState(owner: string, connector: string): Promise<ConnectorState | undefined> {
    return parse<ConnectorState>(this.connectorStates.get([owner, connector]));
  }

  async putConnectorState(owner: string, connector: string, state: ConnectorState): Promise<void> {
    await this.connectorStates.put([owner, connector], JSON.stringify(state));
  }

  async putSource(source: StoredSource): Promise<void> {
    await this.sources.put([source.owner, source.id], JSON.stringify(source));
  }

  async getSource(owner: string, id: string): Promise<StoredSource | undefined> {
    return parse<StoredSource>(this.sources.get([owner, id]));
  }

  deleteSource(owner: string, id: string): Promise<boolean> {
    return this.sources.childTransaction(() => {
      if (!this.sources.doesExist([owner, id])) return false;
      void this.sources.remove([owner, id]);
      return true;
    });
  }

  async listSources(owner?: string): Promise<readonly StoredSource[]> {
    const all = [...this.sources.getRange({})].map(({ value }) => JSON.parse(value) as StoredSource);
    return owner === undefined ? all : all.filter((source) => source.owner === owner);
  }

  async putPendingAuthorization(pending: PendingAuthorization): Promise<void> {
    await this.authorizations.childTransaction(() => {
      // Abandoned authorizations are swept here: LMDB has no expiry of its own.
      for (const { key, value } of this.authorizations.getRange({})) {
        if ((JSON.parse(value) as PendingAuthorization).expiresAt <= pending.expiresAt - PENDING_SWEEP_AGE_MS) void this.authorizations.remove(key);
      }
      void this.authorizations.put(pending.state, JSON.stringify(pending));
    });
  }

  takePendingAuthorization(state: string, now: number): Promise<PendingAuthorization | undefined> {
    return this.authorizations.childTransaction(() => {
      const pending = parse<PendingAuthorization>(this.authorizations.get(state));
      if (pending === undefined) return undefined;
      void this.authorizations.remove(state);
      return pending.expiresAt > now ? pending : undefined;
    });
  }

  close(): Promise<void> {
    this.closing ??= this.root.close();
    return this.closing;
  }
}
