import type { EntityFilter } from './entity-filter.js';
import { FluxError, ErrorCode } from './errors.js';

/** A list query over entity ids, ordered by id (UTF-8 byte order, the order of every store). */
export interface EntityQuery {
  /** Ids must start with this (namespace filters become `ns/` prefixes). */
  readonly prefix: string;
  /** Return ids strictly after this one. */
  readonly after?: string;
  readonly limit: number;
  /**
   * Only entities it matches. A filtered list examines at most FILTER_SCAN_MAX entities per
   * call, so a page may hold fewer than `limit` entities (none, even) while more may match.
   */
  readonly filter?: EntityFilter;
}

/** Entities one filtered list call examines at most (each store, each shard). */
export const FILTER_SCAN_MAX = 10_000;
/** Entities examined between two yields to the event loop. */
export const FILTER_SCAN_SLICE = 250;
/** Characters of stored JSON decoded between two yields at most (a slice of large entities is split). */
export const FILTER_SCAN_SLICE_CHARS = 256 * 1024;

/**
 * Combines the contract's `prefix` and `namespace` filters into one prefix, or returns
 * undefined when they can never both hold.
 */
export function combineFilters(prefix: string | undefined, namespace: string | undefined): string | undefined {
  // A namespace is the part of an id before its first `/`, so one containing `/` matches nothing.
  if (namespace?.includes('/')) return undefined;
  const candidates = [prefix ?? '', namespace === undefined ? '' : `${namespace}/`];
  const [shorter, longer] = candidates[0]!.length <= candidates[1]!.length ? candidates : [candidates[1]!, candidates[0]!];
  return longer!.startsWith(shorter!) ? longer : undefined;
}

export function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ after: lastId }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof decoded === 'object' && decoded !== null && typeof (decoded as { after?: unknown }).after === 'string') {
      return (decoded as { after: string }).after;
    }
  } catch {
    // fall through to the error below
  }
  throw new FluxError(ErrorCode.Validation, 'cursor is not a cursor returned by Flux');
}

/** Compares ids in UTF-8 byte order, the order LMDB and Redis sorted sets use. */
export function compareIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
