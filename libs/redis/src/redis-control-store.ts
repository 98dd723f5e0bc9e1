import { DEFAULT_RUNTIME_CONFIG, type RuntimeConfig } from '@flux/domain';
import type { ConnectorState, ControlStore, NamespaceRecord, PendingAuthorization, StoredCredential, StoredSource, Unsubscribe } from '@flux/core';
import {
  CREATE_NAMESPACE,
  DELETE_NAMESPACE,
  FIND_NAMESPACE_BY_TOKEN,
  HASH_ENTRIES,
  PUT_RUNTIME_CONFIG,
  UPDATE_RUNTIME_CONFIG,
} from './lua/scripts.js';
import { defineScript, type RedisClient, type ScriptCaller } from './lua-script.js';
import { storeCall } from './redis-errors.js';
import { checkKeyPrefix, controlKeys, DEFAULT_KEY_PREFIX, type ControlKeys } from './redis-keys.js';

export interface RedisControlStoreOptions {
  readonly client: RedisClient;
  /** Prefix of every key and of the config channel (default `flux:`). */
  readonly keyPrefix?: string;
  /** Quit the client on close(): set when the store was given a client of its own. */
  readonly ownsClient?: boolean;
  /** Where exceptions thrown by config watchers go (default: a process warning). */
  readonly onListenerError?: (error: unknown) => void;
}

/** Credentials and connector state are keyed by owner and connector; NUL never occurs in either. */
const ownedField = (owner: string, connector: string): string => `${owner}\u0000${connector}`;

/** Kept past its expiry a little so a take with a slightly late clock still finds (and refuses) it. */
const PENDING_TTL_MARGIN_MS = 60_000;

const parse = <T>(json: string | null): T | undefined => (json === null ? undefined : (JSON.parse(json) as T));

const warn = (error: unknown): void => {
  process.emitWarning(`runtime config watcher failed: ${error instanceof Error ? error.message : String(error)}`);
};

/** The stored hash [field, JSON, ...] as a map of decoded values; undefined when empty. */
function storedConfig(flat: readonly string[]): Map<string, unknown> | undefined {
  if (flat.length === 0) return undefined;
  const stored = new Map<string, unknown>();
  for (let i = 0; i + 1 < flat.length; i += 2) stored.set(flat[i]!, JSON.parse(flat[i + 1]!));
  return stored;
}

/**
 * A full config from stored values: known keys in their usual order, and defaults for keys a
 * store written by an older version lacks (a partial hash never yields a partial config).
 */
/** How long a config write waits to hear its own announcement before it resolves anyway. */
const ANNOUNCEMENT_WAIT_MS = 1_000;

function toConfig(stored: ReadonlyMap<string, unknown>): RuntimeConfig {
  const entries = Object.keys(DEFAULT_RUNTIME_CONFIG).map((key) => [
    key,
    stored.has(key) ? stored.get(key) : DEFAULT_RUNTIME_CONFIG[key as keyof RuntimeConfig],
  ]);
  return Object.fromEntries(entries) as unknown as RuntimeConfig;
}

const decodeConfig = (flat: readonly string[]): RuntimeConfig | undefined => {
  const stored = storedConfig(flat);
  return stored === undefined ? undefined : toConfig(stored);
};

/** [field, JSON, ...] of the config's own keys. */
function configFields(config: Partial<RuntimeConfig>): string[] {
  const fields: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (value !== undefined) fields.push(key, JSON.stringify(value));
  }
  return fields;
}

/**
 * Control-plane data shared by every gateway replica: namespaces with their token index,
 * runtime config (announced on a pub/sub channel so a change reaches all replicas at once),
 * connector credentials and connector state. Open it with `RedisControlStore.open`: the config
 * subscription is in place before the store is returned, so no write after that is missed.
 */
export class RedisControlStore implements ControlStore {
  private readonly keys: ControlKeys;
  private readonly listeners = new Set<(config: RuntimeConfig) => void>();
  /** Writes of this store waiting to hear their own announcement, by its exact text. */
  private readonly announced = new Map<string, (() => void)[]>();
  private readonly createNamespaceScript: ScriptCaller;
  private readonly deleteNamespaceScript: ScriptCaller;
  private readonly findByTokenScript: ScriptCaller;
  private readonly putConfigScript: ScriptCaller;
  private readonly updateConfigScript: ScriptCaller;
  private readonly hashEntries: ScriptCaller;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly client: RedisClient,
    /** A connection of its own: a subscribed Redis connection can run no other commands. */
    private readonly subscriber: RedisClient,
    prefix: string,
    private readonly ownsClient: boolean,
    private readonly onListenerError: (error: unknown) => void,
  ) {
    this.keys = controlKeys(prefix);
    this.createNamespaceScript = defineScript(client, CREATE_NAMESPACE);
    this.deleteNamespaceScript = defineScript(client, DELETE_NAMESPACE);
    this.findByTokenScript = defineScript(client, FIND_NAMESPACE_BY_TOKEN);
    this.putConfigScript = defineScript(client, PUT_RUNTIME_CONFIG);
    this.updateConfigScript = defineScript(client, UPDATE_RUNTIME_CONFIG);
    this.hashEntries = defineScript(client, HASH_ENTRIES);
  }

  static async open(options: RedisControlStoreOptions): Promise<RedisControlStore> {
    const prefix = checkKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
    const subscriber = options.client.duplicate();
    const store = new RedisControlStore(options.client, subscriber, prefix, options.ownsClient ?? false, options.onListenerError ?? warn);
    // Reconnects are automatic; messages published while disconnected are lost, so after every
    // reconnect (not the first connect) watchers get the stored config again.
    let connected = false;
    subscriber.on('ready', () => {
      if (connected) void store.resync();
      connected = true;
    });
    // Connection errors surface through the main client's calls; this one only reconnects.
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === store.keys.configChannel) store.emit(message);
    });
    try {
      await subscriber.subscribe(store.keys.configChannel);
    } catch (error) {
      subscriber.disconnect();
      throw error;
    }
    return store;
  }

  createNamespace(record: NamespaceRecord): Promise<boolean> {
    return storeCall('createNamespace', async () => {
      const created = await this.createNamespaceScript(
        [this.keys.namespaces, this.keys.tokens],
        [record.name, JSON.stringify(record), record.tokenHash],
      );
      return created === 1;
    });
  }

  getNamespace(name: string): Promise<NamespaceRecord | undefined> {
    return storeCall('getNamespace', async () => parse<NamespaceRecord>(await this.client.hget(this.keys.namespaces, name)));
  }

  findNamespaceByTokenHash(tokenHash: string): Promise<NamespaceRecord | undefined> {
    return storeCall('findNamespaceByTokenHash', async () => {
      const record = parse<NamespaceRecord>((await this.findByTokenScript([this.keys.namespaces, this.keys.tokens], [tokenHash])) as string | null);
      // The index is written with the record; checking it again means a stale index entry can
      // never authenticate anyone.
      return record?.tokenHash === tokenHash ? record : undefined;
    });
  }

  deleteNamespace(name: string): Promise<boolean> {
    return storeCall('deleteNamespace', async () => (await this.deleteNamespaceScript([this.keys.namespaces, this.keys.tokens], [name])) === 1);
  }

  listNamespaces(): Promise<readonly NamespaceRecord[]> {
    return storeCall('listNamespaces', async () =>
      (await this.client.hvals(this.keys.namespaces)).map((json) => JSON.parse(json) as NamespaceRecord),
    );
  }

  getRuntimeConfig(): Promise<RuntimeConfig | undefined> {
    return storeCall('getRuntimeConfig', async () => decodeConfig((await this.hashEntries([this.keys.config], [])) as string[]));
  }

  putRuntimeConfig(config: RuntimeConfig): Promise<void> {
    return storeCall('putRuntimeConfig', async () => {
      const flat = (await this.putConfigScript([this.keys.config], [this.keys.configChannel, ...configFields(config)])) as string[];
      await this.heard(flat);
    });
  }

  /**
   * Merges a partial update into the shared config in one atomic step and resolves the merged
   * result. Unlike putRuntimeConfig (which writes a whole config computed from this gateway's
   * possibly stale view), concurrent updates of different keys from different gateways all
   * survive. `base` fills keys the store does not hold yet (normally the running config).
   */
  updateRuntimeConfig(update: Partial<RuntimeConfig>, base: RuntimeConfig): Promise<RuntimeConfig> {
    return storeCall('updateRuntimeConfig', async () => {
      const baseFields = configFields(base);
      const flat = (await this.updateConfigScript(
        [this.keys.config],
        [this.keys.configChannel, String(baseFields.length / 2), ...baseFields, ...configFields(update)],
      )) as string[];
      await this.heard(flat);
      return decodeConfig(flat)!;
    });
  }

  watchRuntimeConfig(listener: (config: RuntimeConfig) => void): Unsubscribe {
    // A wrapper per registration, so the same function registered twice is two watchers.
    const registration = (config: RuntimeConfig): void => listener(config);
    this.listeners.add(registration);
    return () => {
      this.listeners.delete(registration);
    };
  }

  putCredential(credential: StoredCredential): Promise<void> {
    return storeCall('putCredential', async () => {
      await this.client.hset(this.keys.credentials, ownedField(credential.owner, credential.connector), JSON.stringify(credential));
    });
  }

  getCredential(owner: string, connector: string): Promise<StoredCredential | undefined> {
    return storeCall('getCredential', async () =>
      parse<StoredCredential>(await this.client.hget(this.keys.credentials, ownedField(owner, connector))),
    );
  }

  deleteCredential(owner: string, connector: string): Promise<boolean> {
    return storeCall('deleteCredential', async () => (await this.client.hdel(this.keys.credentials, ownedField(owner, connector))) === 1);
  }

  listCredentials(): Promise<readonly StoredCredential[]> {
    return storeCall('listCredentials', async () =>
      (await this.client.hvals(this.keys.credentials)).map((json) => JSON.parse(json) as StoredCredential),
    );
  }

  getConnectorState(owner: string, connector: string): Promise<ConnectorState | undefined> {
    return storeCall('getConnectorState', async () =>
      parse<ConnectorState>(await this.client.hget(this.keys.connectorStates, ownedField(owner, connector))),
    );
  }

  putConnectorState(owner: string, connector: string, state: ConnectorState): Promise<void> {
    return storeCall('putConnectorState', async () => {
      await this.client.hset(this.keys.connectorStates, ownedField(owner, connector), JSON.stringify(state));
    });
  }
  putPendingAuthorization(pending: PendingAuthorization): Promise<void> {
    return storeCall('putPendingAuthorization', async () => {
      // The TTL only cleans up; expiry is decided against the caller's clock on take.
      const ttl = Math.max(1, pending.expiresAt - Date.now()) + PENDING_TTL_MARGIN_MS;
      await this.client.set(this.keys.pendingAuthorization(pending.state), JSON.stringify(pending), 'PX', ttl);
    });
  }

  takePendingAuthorization(state: string, now: number): Promise<PendingAuthorization | undefined> {
    return storeCall('takePendingAuthorization', async () => {
      const pending = parse<PendingAuthorization>(await this.client.getdel(this.keys.pendingAuthorization(state)));
      return pending !== undefined && pending.expiresAt > now ? pending : undefined;
    });
  }

  putSource(source: StoredSource): Promise<void> {
    return storeCall('putSource', async () => {
      await this.client.hset(this.keys.sources, ownedField(source.owner, source.id), JSON.stringify(source));
    });
  }

  getSource(owner: string, id: string): Promise<StoredSource | undefined> {
    return storeCall('getSource', async () => parse<StoredSource>(await this.client.hget(this.keys.sources, ownedField(owner, id))));
  }

  deleteSource(owner: string, id: string): Promise<boolean> {
    return storeCall('deleteSource', async () => (await this.client.hdel(this.keys.sources, ownedField(owner, id))) === 1);
  }

  listSources(owner?: string): Promise<readonly StoredSource[]> {
    return storeCall('listSources', async () => {
      const all = (await this.client.hvals(this.keys.sources)).map((json) => JSON.parse(json) as StoredSource);
      return owner === undefined ? all : all.filter((source) => source.owner === owner);
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.listeners.clear();
      await quietly(this.subscriber);
      if (this.ownsClient) await quietly(this.client);
    })();
    return this.closing;
  }

  /** Delivers a published config (JSON) to every watcher, each with its own copy. */
  /**
   * Resolves once this store's own subscription delivered the announcement of a write (the
   * config hash as the write's script returned it), or after a second. Watchers on other
   * gateways receive it at about the same moment (on Redis Cluster the announcement travels
   * between nodes first), so a caller told "done" after this finds the change in effect
   * everywhere, instead of racing the announcement with its next request.
   */
  private heard(flat: readonly string[]): Promise<void> {
    // The text publish-config.lua sends: each field JSON-encoded, each value as stored (JSON).
    const parts: string[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) parts.push(`${JSON.stringify(flat[i])}:${flat[i + 1]}`);
    const message = `{${parts.join(',')}}`;
    return new Promise((resolve) => {
      const waiters = this.announced.get(message) ?? [];
      this.announced.set(message, waiters);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const index = waiters.indexOf(done);
        if (index >= 0) waiters.splice(index, 1);
        if (waiters.length === 0 && this.announced.get(message) === waiters) this.announced.delete(message);
        resolve();
      }, ANNOUNCEMENT_WAIT_MS);
      timer.unref();
      waiters.push(done);
    });
  }

  private emit(message: string): void {
    const waiters = this.announced.get(message);
    if (waiters !== undefined) {
      this.announced.delete(message);
      for (const done of waiters) done();
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(toConfig(new Map(Object.entries(JSON.parse(message) as Record<string, unknown>))));
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  private async resync(): Promise<void> {
    try {
      const flat = (await this.hashEntries([this.keys.config], [])) as string[];
      if (flat.length > 0 && this.listeners.size > 0) this.emit(JSON.stringify(decodeConfig(flat)));
    } catch {
      // Still disconnected: the next 'ready' tries again.
    }
  }
}

async function quietly(client: RedisClient): Promise<void> {
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
