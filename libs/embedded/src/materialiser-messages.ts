import type { ChangeRecord, CommitProgress } from '@flux/domain';
import type { CommitTiming, ReducerObserver } from '@flux/core';

/** What the server thread tells the materialiser thread. */
export type ToMaterialiser =
  /** The server appended records to these partitions (see LmdbEventLog.appendedElsewhere). */
  | { readonly type: 'appended'; readonly partitions: readonly number[] }
  /** Stop applying after the batches in hand, close the stores, then answer `stopped`. */
  | { readonly type: 'stop' };

/** A call of the materialiser's ReducerObserver, replayed on the server thread's metrics. */
export type ObservedEvent =
  | { readonly kind: 'committed'; readonly partition: number; readonly events: number; readonly commit: CommitTiming }
  | { readonly kind: 'fenced'; readonly partition: number; readonly detectedBy: 'commit' | 'claim_check' }
  | { readonly kind: 'refused'; readonly reason: 'entity_limit' | 'version_conflict' }
  | { readonly kind: 'handover'; readonly direction: 'acquired' | 'released' | 'lost' }
  | { readonly kind: 'expired'; readonly count: number };

/** What the materialiser thread tells the server thread (the messages of one turn in one array). */
export type FromMaterialiser =
  /** The reducers caught up with what the log held when they started. */
  | { readonly type: 'recovered' }
  /** A commit's changes and progress, for the server's change feed (committed and readable). */
  | { readonly type: 'published'; readonly changes: readonly ChangeRecord[]; readonly progress: CommitProgress | undefined }
  | { readonly type: 'observed'; readonly event: ObservedEvent }
  /** A reducer stopped on its own, or recovery failed: state no longer follows the log. */
  | { readonly type: 'failed'; readonly message: string; readonly stack: string | undefined }
  /** Answer to `stop`: the stores are closed. */
  | { readonly type: 'stopped' };

/** A ReducerObserver that hands each call to `post`, for the thread that owns the metrics. */
export function forwardingObserver(post: (event: ObservedEvent) => void): ReducerObserver {
  return {
    committed: (partition, events, commit) => post({ kind: 'committed', partition, events, commit }),
    fenced: (partition, detectedBy) => post({ kind: 'fenced', partition, detectedBy }),
    refused: (reason) => post({ kind: 'refused', reason }),
    handover: (direction) => post({ kind: 'handover', direction }),
    expired: (count) => post({ kind: 'expired', count }),
  };
}

/** Makes the call an ObservedEvent stands for. */
export function replayObserved(observer: ReducerObserver, event: ObservedEvent): void {
  switch (event.kind) {
    case 'committed':
      return observer.committed(event.partition, event.events, event.commit);
    case 'fenced':
      return observer.fenced(event.partition, event.detectedBy);
    case 'refused':
      return observer.refused(event.reason);
    case 'handover':
      return observer.handover(event.direction);
    case 'expired':
      return observer.expired(event.count);
  }
}
