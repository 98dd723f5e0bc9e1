import type { Namespace, RuntimeConfig } from '@flux/domain';

export interface NamespaceRecord extends Namespace {
  /** SHA-256 of the namespace's token, hex. The token itself is never stored. */
  readonly tokenHash: string;
}

/** An encrypted connector credential (AES-256-GCM), owned by a namespace or by the instance. */
export interface StoredCredential {
  readonly connector: string;
  /** Namespace that stored it; '' in internal mode. */
  readonly owner: string;
  readonly ciphertext: string;
  readonly iv: string;
  readonly authTag: string;
  readonly createdAt: number;
}

/**
 * When the connector runtime polls a credential next. Stored with the state, so every process
 * of a cluster schedules from the same data.
 */
export interface PollSchedule {
  /** The credential this schedule was made for: a newly stored credential is polled at once. */
  readonly credentialVersion: string;
  /** Epoch ms of the next poll (the interval, a retry backoff, or a rate limit's reset). */
  readonly nextPoll: number;
  /** Epoch ms before which the service asked not to be called (a rate limit), or null. */
  readonly notBefore: number | null;
}

/** Connector progress and health, persisted so a restart resumes where it stopped. */
export interface ConnectorState {
  readonly lastPoll: number | null;
  readonly lastError: string | null;
  readonly consecutiveFailures: number;
  /** The connector's own positions (ETags, pages, timestamps); opaque to the runtime. */
  readonly cursors: Readonly<Record<string, string>>;
  /** Absent until the runtime polled the credential once. */
  readonly schedule?: PollSchedule;
}

export type Unsubscribe = () => void;

/**
 * Shared control-plane data: namespaces, token hashes, runtime config and connector
 * credentials. In the distributed topology every gateway replica reads the same store.
 */
export interface ControlStore {
  /** Creates a namespace; resolves false (and changes nothing) when the name is taken. */
  createNamespace(record: NamespaceRecord): Promise<boolean>;
  getNamespace(name: string): Promise<NamespaceRecord | undefined>;
  findNamespaceByTokenHash(tokenHash: string): Promise<NamespaceRecord | undefined>;
  /** Resolves false when no such namespace exists. */
  deleteNamespace(name: string): Promise<boolean>;
  listNamespaces(): Promise<readonly NamespaceRecord[]>;

  /** The persisted runtime config, or undefined before the first write. */
  getRuntimeConfig(): Promise<RuntimeConfig | undefined>;
  putRuntimeConfig(config: RuntimeConfig): Promise<void>;
  /**
   * Merges a partial update into the stored config atomically (fields missing from the store
   * come from `base`) and resolves the result, so concurrent updates from two gateways never
   * lose one another. Stores written by a single process may omit it.
   */
  updateRuntimeConfig?(update: Partial<RuntimeConfig>, base: RuntimeConfig): Promise<RuntimeConfig>;
  /** Calls back with every config written by any instance after subscribing. */
  watchRuntimeConfig(listener: (config: RuntimeConfig) => void): Unsubscribe;

  putCredential(credential: StoredCredential): Promise<void>;
  getCredential(owner: string, connector: string): Promise<StoredCredential | undefined>;
  /** Resolves false when nothing was stored. */
  deleteCredential(owner: string, connector: string): Promise<boolean>;
  listCredentials(): Promise<readonly StoredCredential[]>;

  getConnectorState(owner: string, connector: string): Promise<ConnectorState | undefined>;
  putConnectorState(owner: string, connector: string, state: ConnectorState): Promise<void>;

  close(): Promise<void>;
}
