import pMap from 'p-map';
import {
  assertEntityId,
  encodePosition,
  entityIdProblem,
  ErrorCode,
  FluxError,
  isSystemEntity,
  namespaceOf,
  parseDeleteSelector,
  positionFields,
  tombstoneFor,
  type LogPosition,
  type PositionFields,
} from '@flux/domain';
import type { Authorizer, Principal } from '../auth/authorizer.js';
import type { StateReader } from '../ports/state-store.js';
import type { IngestService } from './ingest-service.js';

export interface DeleteOneResult extends PositionFields {
  readonly entity_id: string;
  readonly eventId: string;
}

export interface DeleteManyResult {
  readonly deleted: number;
  readonly failed: number;
  readonly errors: readonly { readonly entity_id?: unknown; readonly error: string }[];
  /** Position tokens of the last tombstone appended in each partition touched (empty when none). */
  readonly positions: readonly string[];
}

const EXISTENCE_CHECK_CONCURRENCY = 64;

/** Entities tombstoned per append when a whole namespace goes. */
const NAMESPACE_PAGE = 1000;

/** Source recorded on tombstones Flux writes on behalf of an API caller. */
const DELETION_SOURCE = 'flux-api';

export interface DeletionServiceOptions {
  /** Only its raw append is used: tombstones are Flux's own events (no auth, no rate limit). */
  readonly ingest: Pick<IngestService, 'appendEvents'>;
  readonly reader: StateReader;
  readonly authorizer: Authorizer;
  readonly maxBatchDelete: number;
  readonly now?: () => number;
}

/** Deletion is event-sourced: it appends tombstones, and entities disappear once they are applied. */
export class DeletionService {
  private readonly now: () => number;

  constructor(private readonly options: DeletionServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  async deleteOne(entityId: unknown, principal: Principal): Promise<DeleteOneResult> {
    assertEntityId(entityId);
    this.options.authorizer.authorizeWrite(principal, entityId);
    const tombstone = tombstoneFor(entityId, DELETION_SOURCE, this.now());
    const [position] = await this.options.ingest.appendEvents([tombstone]);
    return { entity_id: entityId, eventId: tombstone.eventId, ...positionFields(position!) };
  }

  async deleteMatching(body: unknown, principal: Principal): Promise<DeleteManyResult> {
    const selector = parseDeleteSelector(body);
    const own = this.options.authorizer.requireNamespace(principal);
    const errors: { entity_id?: unknown; error: string }[] = [];
    let ids: string[];

    if ('entity_ids' in selector) {
      const valid = new Set<string>();
      for (const candidate of selector.entity_ids) {
        const problem = entityIdProblem(candidate);
        if (problem !== undefined) errors.push({ entity_id: candidate, error: `entity_id ${problem}` });
        else if (isSystemEntity(candidate as string))
          errors.push({ entity_id: candidate, error: `${candidate as string} is a read-only system entity` });
        else valid.add(candidate as string);
      }
      this.checkLimit(valid.size);
      this.checkOwnership([...valid], own);
      // Existence checks run concurrently (a remote reader answers each over the network),
      // bounded so a 10000-id request does not open 10000 calls at once.
      const exists = await pMap(valid, async (id) => (await this.options.reader.getEntity(id)) !== undefined, {
        concurrency: EXISTENCE_CHECK_CONCURRENCY,
      });
      ids = [...valid].filter((_, index) => exists[index]);
    } else {
      if ('namespace' in selector && own !== undefined && selector.namespace !== own) {
        throw new FluxError(ErrorCode.Forbidden, `token of namespace "${own}" cannot delete in namespace "${selector.namespace}"`);
      }
      const prefix = 'namespace' in selector ? `${selector.namespace}/` : selector.prefix;
      // A namespace is the part of an id before its first `/`, so one containing `/` matches
      // nothing (as in the namespace filter of list queries), rather than deleting a sub-tree.
      ids = 'namespace' in selector && selector.namespace.includes('/') ? [] : await this.matching(prefix);
      this.checkOwnership(ids, own);
    }

    const positions = await this.appendTombstones(ids);
    return { deleted: ids.length, failed: errors.length, errors, positions: latestPerPartition(positions).map(encodePosition) };
  }

  /**
   * Tombstones every entity of `namespace`, however many: an admin operation (deleting the
   * namespace itself), so max_batch_delete does not apply. Appended page by page.
   */
  async deleteNamespace(namespace: string): Promise<number> {
    if (namespace.includes('/')) return 0;
    let deleted = 0;
    for await (const ids of this.pages(`${namespace}/`, NAMESPACE_PAGE)) {
      await this.appendTombstones(ids);
      deleted += ids.length;
    }
    return deleted;
  }

  /** Every id under `prefix`, refusing (before deleting anything) more than the configured maximum. */
  private async matching(prefix: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const page of this.pages(prefix, Math.min(1000, this.options.maxBatchDelete + 1))) {
      ids.push(...page);
      this.checkLimit(ids.length);
    }
    return ids;
  }

  /** The ids under `prefix`, a page at a time; system entities are Flux's own and skipped. */
  private async *pages(prefix: string, pageSize: number): AsyncGenerator<string[]> {
    let after: string | undefined;
    for (;;) {
      const page = await this.options.reader.listEntities({ prefix, limit: pageSize, ...(after === undefined ? {} : { after }) });
      const ids = page.entities.map((record) => record.id).filter((id) => !isSystemEntity(id));
      if (ids.length > 0) yield ids;
      if (page.lastId === undefined) return;
      after = page.lastId;
    }
  }

  private async appendTombstones(ids: readonly string[]): Promise<readonly LogPosition[]> {
    if (ids.length === 0) return [];
    const now = this.now();
    return this.options.ingest.appendEvents(ids.map((id) => tombstoneFor(id, DELETION_SOURCE, now)));
  }

  private checkLimit(count: number): void {
    if (count > this.options.maxBatchDelete) {
      throw new FluxError(ErrorCode.Validation, `more than max_batch_delete (${this.options.maxBatchDelete}) entities match; narrow the selection`);
    }
  }

  private checkOwnership(ids: readonly string[], own: string | undefined): void {
    if (own === undefined) return;
    const foreign = ids.find((id) => namespaceOf(id) !== own);
    if (foreign !== undefined) {
      throw new FluxError(ErrorCode.Forbidden, `"${foreign}" is outside namespace "${own}"; nothing was deleted`);
    }
  }
}

/** The highest position of each partition among `positions`, by partition. */
function latestPerPartition(positions: readonly LogPosition[]): LogPosition[] {
  const latest = new Map<number, LogPosition>();
  for (const position of positions) {
    const known = latest.get(position.partition);
    if (known === undefined || position.offset > known.offset) latest.set(position.partition, position);
  }
  return [...latest.values()].sort((a, b) => a.partition - b.partition);
}
