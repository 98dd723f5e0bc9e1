/**
 * The Redis key layout. Every key of one partition carries the hash tag `{p<n>}`, so every
 * atomic step of a partition (one Lua script) touches a single Redis Cluster slot and the
 * design runs on Redis Cluster unchanged (invariant 4). The control plane uses its own tag,
 * `{control}`, so its multi-key scripts (a namespace and its token index) stay in one slot too.
 */

/** The prefix used when none is given: every key Flux writes starts with it. */
export const DEFAULT_KEY_PREFIX = 'flux:';

/**
 * Rejects prefixes that would break the hash tags: Redis hashes the first `{...}` of a key, so a
 * brace in the prefix would move every key of every partition into the prefix's slot (or split
 * them unpredictably).
 */
export function checkKeyPrefix(prefix: string): string {
  if (prefix.includes('{') || prefix.includes('}')) {
    throw new RangeError(`a Redis key prefix must not contain braces (they would replace the hash tags), got ${JSON.stringify(prefix)}`);
  }
  return prefix;
}

/** The hash tag of a partition's keys. */
export const partitionTag = (partition: number): string => `{p${partition}}`;

/** Keys of one partition of the state store. */
export interface PartitionKeys {
  /** Hash: `epoch` (fence), `offset` (last applied log offset), `events` (events applied). */
  readonly meta: string;
  /** Hash: entity id → StoredEntity JSON, exactly as the reducer encoded it. */
  readonly entities: string;
  /** Sorted set of entity ids, all with score 0, so ZRANGEBYLEX lists them in byte order. */
  readonly ids: string;
  /** Hash: count key (namespace, or '') → entities. */
  readonly counts: string;
  /** Stream of change summaries, one entry per entity changed by a commit. */
  readonly changes: string;
  /** Sorted set of the ids of entities with a ttl, scored by their expiry (epoch ms). */
  readonly expiries: string;
  /** List of one entity's StoredEvent JSON, newest first. */
  history(entityId: string): string;
}

export function partitionKeys(prefix: string, partition: number): PartitionKeys {
  const base = `${prefix}${partitionTag(partition)}:`;
  return {
    meta: `${base}meta`,
    entities: `${base}entities`,
    ids: `${base}ids`,
    counts: `${base}counts`,
    changes: `${base}changes`,
    expiries: `${base}expiries`,
    // The id follows the tag, so any id (braces included) leaves the slot unchanged.
    history: (entityId) => `${base}h:${entityId}`,
  };
}

/** Keys of the control plane (namespaces, tokens, runtime config, connectors). */
export interface ControlKeys {
  /** Hash: namespace name → NamespaceRecord JSON. */
  readonly namespaces: string;
  /** Hash: token hash → namespace name (the lookup every authenticated request makes). */
  readonly tokens: string;
  /** Hash: runtime config key → JSON of its value; one field per key, so updates merge. */
  readonly config: string;
  /** Pub/sub channel announcing every config write (payload: the full config JSON). */
  readonly configChannel: string;
  /** Hash: `owner\0connector` → StoredCredential JSON. */
  readonly credentials: string;
  /** Hash: `owner\0connector` → ConnectorState JSON. */
  readonly connectorStates: string;
  /** Hash: `owner\0id` → StoredSource JSON. */
  readonly sources: string;
  /** String with a TTL: OAuth state → PendingAuthorization JSON. */
  pendingAuthorization(state: string): string;
}

export function controlKeys(prefix: string): ControlKeys {
  const base = `${prefix}{control}:`;
  return {
    namespaces: `${base}namespaces`,
    tokens: `${base}namespace-tokens`,
    config: `${base}runtime-config`,
    configChannel: `${base}runtime-config-changed`,
    credentials: `${base}credentials`,
    connectorStates: `${base}connector-states`,
    sources: `${base}sources`,
    pendingAuthorization: (state) => `${base}oauth:${state}`,
  };
}

/** The key of a namespace's token bucket (a single-key script, so no shared tag is needed). */
export const rateLimitKey = (prefix: string, namespace: string): string => `${prefix}rate:${namespace}`;

/** Escapes glob metacharacters, for SCAN MATCH over everything under a prefix. */
export const globEscape = (text: string): string => text.replace(/[*?[\]\\]/g, '\\$&');

/** Keys of the gateways' shared WebSocket connection count (one slot: `{presence}`). */
export interface PresenceKeys {
  /** Sorted set: gateway instance id, scored by when its report expires (server ms). */
  readonly expiries: string;
  /** Hash: gateway instance id → its WebSocket connections. */
  readonly connections: string;
}

export function presenceKeys(prefix: string): PresenceKeys {
  const base = `${prefix}{presence}:`;
  return { expiries: `${base}ws-expiries`, connections: `${base}ws-connections` };
}

/** The address a gateway instance registered for its peers (one key each, expiring unless renewed). */
export const peerKey = (prefix: string, instanceId: string): string => `${prefix}{presence}:peer:${instanceId}`;

/** Keys of elastic reducer membership and the partition map (one hash tag: their scripts stay in one slot). */
export interface ReducerRegistryKeys {
  /** Sorted set: member id, scored by when its lease runs out (server ms). */
  readonly members: string;
  /** Hash: member id → its gRPC address. */
  readonly addresses: string;
  /** Hash: partition → owner JSON `{"memberId", "address", "epoch"}`. */
  readonly map: string;
}

export function reducerRegistryKeys(prefix: string): ReducerRegistryKeys {
  const base = `${prefix}{flux-reducers}:`;
  return { members: `${base}members`, addresses: `${base}addresses`, map: `${base}map` };
}
