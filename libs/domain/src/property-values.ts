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

/** What leafProblem answers for arrays and objects: the walk checks those itself. */
const CONTAINER = Symbol('container');

/** The problem of a value that is not an array or object, or undefined when it is fine. */
function leafProblem(value: unknown): string | undefined | typeof CONTAINER {
  switch (typeof value) {
    case 'boolean':
      return undefined;
    case 'string':
      return value.isWellFormed() ? undefined : ILL_FORMED_TEXT;
    case 'number':
      return Number.isFinite(value) ? undefined : `must be a finite number, got ${value}`;
    case 'object':
      return value === null ? undefined : CONTAINER;
    default:
      return `must be a JSON value, got ${typeof value}`;
  }
}

/**
 * Returns the first problem of an event's properties, or undefined when every value is plain
 * JSON: null, booleans, finite numbers, well-formed strings, arrays and plain objects with
 * well-formed non-empty top-level names, nested at most MAX_PROPERTY_DEPTH levels. Leaves are
 * checked where they are met; only arrays and objects wait on the stack (an event of 10,000
 * flat properties allocates nothing per property).
 */
export function propertiesProblem(properties: Readonly<Record<string, unknown>>): PropertyProblem | undefined {
  if (!isPlainObject(properties)) return { path: [], message: 'must be a plain JSON object' };
  const pending: Pending[] = [];
  /** Checks one child: a leaf at once, a container later; a problem names its path. */
  const visit = (value: unknown, depth: number, parent: PathNode | undefined, key: string | number): PropertyProblem | undefined => {
    const problem = leafProblem(value);
    if (problem === undefined) return undefined;
    if (problem === CONTAINER) {
      pending.push({ value, depth, path: { parent, key } });
      return undefined;
    }
    return { path: pathOf({ parent, key }), message: problem };
  };
  for (const key of Object.keys(properties)) {
    if (key === '') return { path: [], message: 'must not contain an empty property name' };
    if (!key.isWellFormed()) return { path: [], message: `has a property name that ${ILL_FORMED_TEXT} ("${quoteKey(key)}")` };
    const problem = visit(properties[key], 1, undefined, key);
    if (problem !== undefined) return problem;
  }
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, depth, path } = next;
    const container = value as object;
    if (depth >= MAX_PROPERTY_DEPTH && hasChildren(container)) {
      // Named by its top-level property: the full path of a deep value is as long as the attack.
      let top = path;
      while (top.parent !== undefined) top = top.parent;
      return { path: pathOf(top), message: `nests deeper than ${MAX_PROPERTY_DEPTH} levels` };
    }
    if (Array.isArray(container)) {
      for (let index = 0; index < container.length; index++) {
        const problem = visit(container[index], depth + 1, path, index);
        if (problem !== undefined) return problem;
      }
      continue;
    }
    if (!isPlainObject(container)) return { path: pathOf(path), message: 'must be a JSON value, got a non-plain object' };
    const record = container as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!key.isWellFormed()) return { path: pathOf(path), message: `has a property name that ${ILL_FORMED_TEXT} ("${quoteKey(key)}")` };
      const problem = visit(record[key], depth + 1, path, key);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

const hasChildren = (value: object): boolean => (Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0);
