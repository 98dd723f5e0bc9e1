import { MAX_ENTITY_ID_LENGTH, parsePosition, textProblem, type ChangeRecord, type StoredEntity } from '@flux/domain';

/**
 * What a subscribe message's `filter` compiles to: which entities and changes of the prefix
 * the subscription receives.
 */
export interface SubscriptionFilter {
  /** An entity sent whole (a snapshot's, or the state a catch-up sends). */
  matchesEntity(id: string, entity: StoredEntity): boolean;
  /** A change (live or replayed). */
  matchesChange(change: ChangeRecord): boolean;
}

/**
 * Compiles a subscribe message's `filter` field (present or not) into the subscription's
 * SubscriptionFilter, or returns why it is not a valid filter (see subscription-filter.ts).
 */
export type FilterCompiler = (filter: unknown) => SubscriptionFilter | string;

const MATCH_ALL: SubscriptionFilter = { matchesEntity: () => true, matchesChange: () => true };
export const matchEverything: FilterCompiler = () => MATCH_ALL;

export interface PrefixSubscribeRequest {
  readonly prefix: string;
  /** First the current state of every matching entity. */
  readonly snapshot: boolean;
  /** Per partition, the offset after which to replay (-1: the partition's start); undefined: no replay. */
  readonly since: readonly number[] | undefined;
  readonly filter: SubscriptionFilter;
}

export interface PrefixRequestRules {
  readonly partitionCount: number;
  /** Public mode: a prefix names a namespace (`<namespace>/…`), so it never spans two. */
  readonly publicMode: boolean;
  readonly compileFilter: FilterCompiler;
}

/** A namespace followed by `/`: the shortest prefix public mode accepts. */
const NAMESPACED = /^[a-z0-9_-]{3,32}\//;

/** Why a prefix cannot be subscribed to, or undefined. */
export function prefixProblem(prefix: unknown, publicMode: boolean): string | undefined {
  if (typeof prefix !== 'string') return 'prefix must be a string';
  if (prefix.length > MAX_ENTITY_ID_LENGTH) return `prefix must be at most ${MAX_ENTITY_ID_LENGTH} characters`;
  const problem = textProblem(prefix);
  if (problem !== undefined) return `prefix ${problem}`;
  if (publicMode && !NAMESPACED.test(prefix)) return 'prefix must start with a namespace and "/" (e.g. "dawn-coral/")';
  return undefined;
}

/**
 * `since`: one position token or an array of them, at most one per partition. Partitions it
 * does not name replay from their start (and most likely need a resync).
 */
function parseSince(since: unknown, partitionCount: number): number[] | string {
  const tokens = typeof since === 'string' ? [since] : since;
  if (!Array.isArray(tokens) || tokens.length > partitionCount) {
    return `since must be a position token or an array of at most ${partitionCount} (one per partition)`;
  }
  const offsets = Array.from({ length: partitionCount }, () => -1);
  const named = new Set<number>();
  for (const token of tokens) {
    const position = typeof token === 'string' ? parsePosition(token) : undefined;
    if (position === undefined) return 'since holds something that is not a position returned by Flux';
    if (position.partition >= partitionCount) return `since names partition ${position.partition}, but the log has ${partitionCount}`;
    if (named.has(position.partition)) return `since names partition ${position.partition} twice`;
    named.add(position.partition);
    offsets[position.partition] = position.offset;
  }
  return offsets;
}

/** A subscribe message with a `prefix` as a request, or why it is not a valid one. */
export function parsePrefixSubscribe(message: Readonly<Record<string, unknown>>, rules: PrefixRequestRules): PrefixSubscribeRequest | string {
  const { prefix, snapshot, since, filter } = message;
  const problem = prefixProblem(prefix, rules.publicMode);
  if (problem !== undefined) return problem;
  if (snapshot !== undefined && typeof snapshot !== 'boolean') return 'snapshot must be true or false';
  if (snapshot === true && since !== undefined) return 'give snapshot or since, not both';
  let offsets: number[] | undefined;
  if (since !== undefined) {
    const parsed = parseSince(since, rules.partitionCount);
    if (typeof parsed === 'string') return parsed;
    offsets = parsed;
  }
  const compiled = rules.compileFilter(filter);
  if (typeof compiled === 'string') return `filter: ${compiled}`;
  return { prefix: prefix as string, snapshot: snapshot === true, since: offsets, filter: compiled };
}
