import { SYSTEM_NAMESPACE, isSystemEntity, namespaceOf } from './entity-id.js';

/**
 * The key an entity is counted under: its namespace, or '' for ids without one. System
 * entities are never counted (undefined).
 */
export function countKeyFor(id: string): string | undefined {
  if (isSystemEntity(id)) return undefined;
  return namespaceOf(id) ?? '';
}

export interface EntityCounts {
  /** All entities outside the system namespace. */
  readonly total: number;
  /** Entities per count key (see countKeyFor): namespaces, and '' for ids without one. */
  readonly byNamespace: Readonly<Record<string, number>>;
}

export interface DirectoryProperties {
  readonly namespaces: Record<string, { entities: number }>;
  readonly namespace_count: number;
  readonly total_entities: number;
  readonly updated_at: string;
}

/**
 * The properties of `flux-core/directory`. With `registered` (public mode) the active
 * namespaces are the registered ones; otherwise every namespace that holds entities.
 */
export function buildDirectory(counts: EntityCounts, now: number, registered?: readonly string[]): DirectoryProperties {
  const names = registered ?? Object.keys(counts.byNamespace).filter((name) => (counts.byNamespace[name] ?? 0) > 0);
  const namespaces: Record<string, { entities: number }> = {};
  for (const name of [...names].sort()) {
    if (name === SYSTEM_NAMESPACE || name === '') continue;
    namespaces[name] = { entities: counts.byNamespace[name] ?? 0 };
  }
  return {
    namespaces,
    namespace_count: Object.keys(namespaces).length,
    total_entities: counts.total,
    updated_at: new Date(now).toISOString(),
  };
}
