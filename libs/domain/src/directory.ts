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
  // Own properties only: `constructor` and `__proto__` are valid namespace names.
  const countOf = (name: string): number => (Object.hasOwn(counts.byNamespace, name) ? (counts.byNamespace[name] ?? 0) : 0);
  const names = registered ?? Object.keys(counts.byNamespace).filter((name) => countOf(name) > 0);
  // Object.fromEntries defines own data properties, so a `__proto__` namespace stays data.
  const namespaces: Record<string, { entities: number }> = Object.fromEntries(
    [...names]
      .sort()
      .filter((name) => name !== SYSTEM_NAMESPACE && name !== '')
      .map((name) => [name, { entities: countOf(name) }]),
  );
  return {
    namespaces,
    namespace_count: Object.keys(namespaces).length,
    total_entities: counts.total,
    updated_at: new Date(now).toISOString(),
  };
}
