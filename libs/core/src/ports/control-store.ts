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
  /** Set for an OAuth token the provider lets expire: the sealed refresh token. */
  readonly refresh?: { readonly ciphertext: string; readonly iv: string; readonly authTag: string };
  /** Epoch ms when the access token expires (OAuth tokens with expires_in). */
  readonly expiresAt?: number;
  /**
   * Identifies the grant for the connector runtime; a refreshed token keeps the version of the
   * grant it renews, so polls under way stay current. Absent: `createdAt:iv`.
   */
  readonly version?: string;
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
  /** Items the last complete poll listed (sources only). */
  readonly itemsSeen?: number;
}

/** How a source authenticates: the secret is sent as a bearer token, a named header, or basic `user:password`. */
export type SourceAuth =
  { readonly kind: 'none' } | { readonly kind: 'bearer' } | { readonly kind: 'header'; readonly name: string } | { readonly kind: 'basic' };

/** What happens to an entity whose item is missing from a complete listing. */
export type DisappearPolicy = { readonly kind: 'keep' } | { readonly kind: 'mark'; readonly property: string } | { readonly kind: 'delete' };

/** A Singer tap run as a source. */
export interface SourceTap {
  /** The executable's name, one of the admin's allowed taps. */
  readonly name: string;
  /** RECORD field holding each record's key. */
  readonly entityKeyField: string;
  /** Streams published (null: all). */
  readonly streamFilter: readonly string[] | null;
}

/** A generic HTTP source created through the API: a URL polled on an interval, each item one entity. */
export interface StoredSource {
  readonly id: string;
  /** Namespace that created it; '' in internal mode. */
  readonly owner: string;
  readonly name: string;
  readonly url: string;
  readonly pollIntervalSeconds: number;
  /** JSONPath (RFC 9535) of the item's key, evaluated on each item. */
  readonly entityKey: string;
  /** Prepended to the key with a `/` ('' for none). */
  readonly entityPrefix: string;
  /** JSONPath of the items in the response; null: the response is the item array. */
  readonly itemsPath: string | null;
  /** Property name → JSONPath evaluated on the item; null: every field of the item. */
  readonly properties: Readonly<Record<string, string>> | null;
  readonly auth: SourceAuth;
  /** The credential, sealed like connector credentials; null when none. */
  readonly secret: { readonly ciphertext: string; readonly iv: string; readonly authTag: string } | null;
  readonly onDisappear: DisappearPolicy;
  /**
   * Set for a Singer tap instead of a URL (url and the JSONPath fields then go unused): the
   * secret holds the tap's config JSON.
   */
  readonly tap?: SourceTap;
  readonly paused: boolean;
  readonly createdAt: number;
  /** Changes on every update: the runtime polls a changed source at once. */
  readonly updatedAt: number;
}

/**
 * An OAuth authorization in progress: created by the start route, consumed once by the
 * callback (which may reach another gateway replica).
 */
export interface PendingAuthorization {
  /** The random `state` parameter; the key. */
  readonly state: string;
  /** Namespace that started it ('' in internal mode): it owns the resulting credential. */
  readonly owner: string;
  readonly connector: string;
  /** The PKCE code_verifier, sent with the code exchange. */
  readonly codeVerifier: string;
  /** Epoch ms after which the state is refused. */
  readonly expiresAt: number;
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

  /** Creates or replaces a source (keyed by owner and id). */
  putSource(source: StoredSource): Promise<void>;
  getSource(owner: string, id: string): Promise<StoredSource | undefined>;
  /** Resolves false when no such source exists. */
  deleteSource(owner: string, id: string): Promise<boolean>;
  /** Every source, or the sources of one owner. */
  listSources(owner?: string): Promise<readonly StoredSource[]>;

  putPendingAuthorization(pending: PendingAuthorization): Promise<void>;
  /**
   * Removes and resolves the pending authorization of `state` atomically, so of two callbacks
   * with one state at most one gets it; undefined when unknown, already taken or expired at `now`.
   */
  takePendingAuthorization(state: string, now: number): Promise<PendingAuthorization | undefined>;

  close(): Promise<void>;
}
