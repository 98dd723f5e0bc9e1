/**
 * The shape every stored property value must have: plain JSON that encodes and decodes back
 * to itself. Checked in one iterative pass over an event's properties, so its cost is linear
 * in the event's size and no nesting depth can overflow the stack.
 */

// Node 20 has String.prototype.isWellFormed; the ES2023 lib the project compiles against does not.
declare global {
  interface String {
    isWellFormed(): boolean;
    toWellFormed(): string;
  }
}

/** Deepest nesting of a property value; a top-level property's value is level 1. */
export const MAX_PROPERTY_DEPTH = 64;

/** Longest part of a key quoted in a message: enough to find it, not enough to echo an attack. */
const QUOTED_KEY_CHARS = 40;

/** Text with no unpaired UTF-16 surrogate: it round-trips through UTF-8 unchanged. */
export const isWellFormedText = (text: string): boolean => text.isWellFormed();

export const ILL_FORMED_TEXT = 'must not contain unpaired UTF-16 surrogates';

export interface PropertyProblem {
  /** Path below the properties object (keys and array indexes), as a field name suffix. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

interface PathNode {
  readonly parent: PathNode | undefined;
  readonly key: string | number;
}

interface Pending {
  readonly value: unknown;
  readonly depth: number;
  readonly path: PathNode;
}

const quoteKey = (key: string): string => {
  const shown = key.length > QUOTED_KEY_CHARS ? `${key.slice(0, QUOTED_KEY_CHARS)}…` : key;
  return shown.isWellFormed() ? shown : shown.toWellFormed();
};

function pathOf(node: PathNode | undefined): (string | number)[] {
  const keys: (string | number)[] = [];
  for (let at = node; at !== undefined; at = at.parent) keys.push(typeof at.key === 'string' ? quoteKey(at.key) : at.key);
  return keys.reverse();
}

const isPlainObject = (value: object): boolean => {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

/**
 * Returns the first problem of an event's properties, or undefined when every value is plain
 * JSON: null, booleans, finite numbers, well-formed strings, arrays and plain objects with
 * well-formed non-empty top-level names, nested at most MAX_PROPERTY_DEPTH levels.
 */
export function propertiesProblem(properties: Readonly<Record<string, unknown>>): PropertyProblem | undefined {
  if (!isPlainObject(properties)) return { path: [], message: 'must be a plain JSON object' };
  const pending: Pending[] = [];
  for (const key of Object.keys(properties)) {
    if (key === '') return { path: [], message: 'must not contain an empty property name' };
    if (!key.isWellFormed()) return { path: [], message: `has a property name that ${ILL_FORMED_TEXT} ("${quoteKey(key)}")` };
    pending.push({ value: properties[key], depth: 1, path: { parent: undefined, key } });
  }
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, depth, path } = next;
    switch (typeof value) {
      case 'boolean':
        continue;
      case 'string':
        if (!value.isWellFormed()) return { path: pathOf(path), message: ILL_FORMED_TEXT };
        continue;
      case 'number':
        if (!Number.isFinite(value)) return { path: pathOf(path), message: `must be a finite number, got ${value}` };
        continue;
      case 'object':
        break;
      default:
        return { path: pathOf(path), message: `must be a JSON value, got ${typeof value}` };
    }
    if (value === null) continue;
    if (depth >= MAX_PROPERTY_DEPTH && hasChildren(value)) {
      // Named by its top-level property: the full path of a deep value is as long as the attack.
      let top = path;
      while (top.parent !== undefined) top = top.parent;
      return { path: pathOf(top), message: `nests deeper than ${MAX_PROPERTY_DEPTH} levels` };
    }
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index++) {
        pending.push({ value: value[index], depth: depth + 1, path: { parent: path, key: index } });
      }
      continue;
    }
    if (!isPlainObject(value)) return { path: pathOf(path), message: 'must be a JSON value, got a non-plain object' };
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!key.isWellFormed()) return { path: pathOf(path), message: `has a property name that ${ILL_FORMED_TEXT} ("${quoteKey(key)}")` };
      pending.push({ value: record[key], depth: depth + 1, path: { parent: path, key } });
    }
  }
  return undefined;
}

const hasChildren = (value: object): boolean => (Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0);
