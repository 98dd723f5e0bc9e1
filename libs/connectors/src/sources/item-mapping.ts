import { query, type JsonValue } from 'jsonpath-rfc9535';
import { DELETED_PROPERTY, type Properties } from '@flux/domain';

/** How one item becomes an entity: key and property expressions (RFC 9535 JSONPath). */
export interface ItemMapping {
  readonly entityKey: string;
  /** Prepended to the key with a `/` (no prefix when empty). */
  readonly entityPrefix: string;
  /** Property name → expression; null publishes every field of the item. */
  readonly properties: Readonly<Record<string, string>> | null;
}

export type MappedItem =
  { readonly ok: true; readonly key: string; readonly properties: Properties } | { readonly ok: false; readonly problem: string };

/** The values an expression selects, or the error it raised (a bad expression fails every item alike). */
export const select = (value: unknown, expression: string): JsonValue[] => query(value as JsonValue, expression);

/** The items an `items_path` selects: a single array node is the listing; several nodes are the items themselves. */
export function itemsAt(body: unknown, itemsPath: string | null): unknown[] | undefined {
  if (itemsPath === null) return Array.isArray(body) ? body : undefined;
  const nodes = select(body, itemsPath);
  if (nodes.length === 1 && Array.isArray(nodes[0])) return nodes[0];
  return nodes.length === 0 ? undefined : nodes;
}

/** Maps one item: its key must select exactly one non-empty string or finite number. */
export function mapItem(item: unknown, mapping: ItemMapping): MappedItem {
  const keys = select(item, mapping.entityKey);
  if (keys.length !== 1) return { ok: false, problem: `entity_key selected ${keys.length} values, not one` };
  const key = keys[0];
  if (!((typeof key === 'string' && key !== '') || (typeof key === 'number' && Number.isFinite(key)))) {
    return { ok: false, problem: 'entity_key did not select a string or number' };
  }
  const id = mapping.entityPrefix === '' ? String(key) : `${mapping.entityPrefix}/${String(key)}`;
  const properties: Record<string, unknown> = {};
  if (mapping.properties === null) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return { ok: false, problem: 'the item is not an object' };
    for (const [field, value] of Object.entries(item)) if (field !== DELETED_PROPERTY) properties[field] = value;
  } else {
    for (const [name, expression] of Object.entries(mapping.properties)) {
      const values = select(item, expression);
      if (values.length === 1) properties[name] = values[0];
      else if (values.length > 1) properties[name] = values;
    }
  }
  return { ok: true, key: id, properties: properties as Properties };
}
