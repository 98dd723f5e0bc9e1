import { SYSTEM_NAMESPACE } from './entity-id.js';

/** A namespace name: 3 to 32 characters of a-z, 0-9, _ and -. */
export const NAMESPACE_NAME_PATTERN = /^[a-z0-9_-]{3,32}$/;
const RESERVED = new Set([SYSTEM_NAMESPACE]);

export interface Namespace {
  readonly namespaceId: string;
  readonly name: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
}

export function namespaceNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'name must be a string';
  if (!NAMESPACE_NAME_PATTERN.test(name)) return 'name must be 3 to 32 characters of a-z, 0-9, _ and -';
  return undefined;
}

export const isReservedNamespace = (name: string): boolean => RESERVED.has(name);
