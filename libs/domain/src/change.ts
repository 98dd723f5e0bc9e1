import type { PropertyChange } from './merge.js';

/** Where an event sits in the log. */
export interface LogPosition {
  readonly partition: number;
  readonly offset: number;
}

/**
 * One applied event as subscribers see it. Every change carries its log position, so a
 * subscriber can later resume without gaps.
 */
export type ChangeRecord = LogPosition &
  (
    | {
        readonly kind: 'upsert';
        readonly entityId: string;
        readonly changes: readonly PropertyChange[];
        readonly version: number;
        /** Epoch milliseconds at which Flux stored the event. */
        readonly timestamp: number;
        readonly source: string;
      }
    | {
        readonly kind: 'delete';
        readonly entityId: string;
        readonly timestamp: number;
        readonly source: string;
      }
  );
