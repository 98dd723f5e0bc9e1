import type { ChangeRecord } from '@flux/domain';
import type { Unsubscribe } from './control-store.js';

export type ChangeListener = (changes: readonly ChangeRecord[]) => void;

/**
 * Applied changes, fanned out to whoever watches (WebSocket hubs). Delivery is in commit
 * order per partition; listeners must not block.
 */
export interface ChangeFeed {
  publish(changes: readonly ChangeRecord[]): void;
  subscribe(listener: ChangeListener): Unsubscribe;
}
