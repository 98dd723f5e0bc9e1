import { ErrorCode, FluxError, isSystemEntity } from '@flux/domain';
import type { NamespaceEntityPurge, StateReader } from '@flux/core';
import { BATCH_DELETE_URL } from '../routes/state-routes.js';

export interface IngestNamespacePurgeOptions {
  /** Base URL of the ingest gateway (which appends the tombstones). */
  readonly ingestUrl: string;
  readonly reader: StateReader;
  /** The admin token: deleting another namespace's entities is an admin operation. */
  readonly adminToken: string | undefined;
  /** Ids per batch delete request (at most the ingest gateway's max_batch_delete). */
  readonly chunkSize: number;
}

/**
 * A query gateway's way to tombstone a deleted namespace's entities: it holds no log producer,
 * so it sends them to the ingest gateway as batch deletes by id, page by page.
 */
export function purgeThroughIngestGateway(options: IngestNamespacePurgeOptions): NamespaceEntityPurge {
  return async (namespace) => {
    if (namespace.includes('/') || options.adminToken === undefined) return;
    const url = new URL(BATCH_DELETE_URL, options.ingestUrl);
    let after: string | undefined;
    for (;;) {
      const page = await options.reader.listEntities({ prefix: `${namespace}/`, limit: options.chunkSize, ...(after === undefined ? {} : { after }) });
      const ids = page.entities.map((record) => record.id).filter((id) => !isSystemEntity(id));
      if (ids.length > 0) {
        let response: Response;
        try {
          response = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${options.adminToken}` },
            body: JSON.stringify({ entity_ids: ids }),
            signal: AbortSignal.timeout(30_000),
          });
          await response.arrayBuffer();
        } catch (error) {
          throw new FluxError(ErrorCode.LogUnavailable, 'ingest gateway unavailable while deleting the namespace entities', { cause: error });
        }
        if (response.status !== 200) {
          throw new FluxError(ErrorCode.LogUnavailable, `ingest gateway answered ${response.status} while deleting the namespace entities`);
        }
      }
      if (page.lastId === undefined) return;
      after = page.lastId;
    }
  };
}
