import type { EntityCounts, EntityQuery, StoredEntity, StoredEvent } from '@flux/domain';
import { ErrorCode, isFluxError } from '@flux/domain';
import type { EntityPage, HistoryQuery, StateReader } from '../ports/state-store.js';
import { markReadStale } from './stale-reads.js';

export interface FallbackStateReaderOptions {
  /** The authoritative reader (the reducer shards, which own the state). */
  readonly primary: StateReader;
  /** Where the same state can be read without the owner (the shared store), possibly behind it. */
  readonly fallback: StateReader;
  /** Told of every read the primary could not serve (for logs and metrics). */
  readonly onFallback?: (operation: string, error: unknown) => void;
}

/**
 * A StateReader that asks `primary` and, when it is unavailable (a shard down, restarting or
 * past its deadline: FLUX_STORE_UNAVAILABLE), answers from `fallback` instead and marks the
 * answer possibly stale (see `markReadStale`). So a reducer restart costs no read availability:
 * the shared store holds everything the shard had committed, only events it has not applied yet
 * are missing. Other errors (validation, not found) are the primary's answer and pass through.
 */
export class FallbackStateReader implements StateReader {
  constructor(private readonly options: FallbackStateReaderOptions) {}

  getEntity(id: string): Promise<StoredEntity | undefined> {
    return this.read('getEntity', (reader) => reader.getEntity(id));
  }

  getEntityJson(id: string): Promise<string | undefined> {
    return this.read('getEntity', (reader) => reader.getEntityJson(id));
  }

  listEntities(query: EntityQuery): Promise<EntityPage> {
    return this.read('listEntities', (reader) => reader.listEntities(query));
  }

  history(entityId: string, query: HistoryQuery): Promise<readonly StoredEvent[]> {
    return this.read('history', (reader) => reader.history(entityId, query));
  }

  counts(): Promise<EntityCounts> {
    return this.read('counts', (reader) => reader.counts());
  }

  eventsApplied(): Promise<number> {
    return this.read('eventsApplied', (reader) => reader.eventsApplied());
  }

  private async read<T>(operation: string, call: (reader: StateReader) => Promise<T>): Promise<T> {
    try {
      return await call(this.options.primary);
    } catch (error) {
      if (!isFluxError(error) || error.code !== ErrorCode.StoreUnavailable) throw error;
      this.options.onFallback?.(operation, error);
      const answer = await call(this.options.fallback);
      markReadStale();
      return answer;
    }
  }
}
