import type { ChangeRecord, EntitySnapshot, LogPosition } from '@flux/domain';
import type { SubscriptionFilter } from './prefix-subscribe-request.js';

/** A change, or the state of an entity sent in place of changes a gateway's feed missed. */
export type LiveRecord = ChangeRecord | EntitySnapshot;

/**
 * The bookkeeping of one prefix subscription: which changes of its entities it has delivered,
 * so every change reaches it once, whether it arrives live, replayed, or is already reflected
 * in an entity's snapshot.
 *
 * From creation until `release()` it holds the live records it hears while its snapshot or
 * replay is read; afterwards it decides each as it comes. Per partition, `cursor` is the offset
 * up to which every change of the subscription's entities was delivered or is reflected in what
 * was sent: changes arrive in log order per partition, so one at or below it is one seen
 * already. Entities sent whole at a position past the cursor (a snapshot read while changes went
 * on) are remembered with that position until the partition's changes pass it, the technique
 * CatchingUpFeed uses.
 */
export class PrefixSubscription {
  readonly cursor: number[];
  /** Live records heard while catching up; undefined once live. */
  private held: LiveRecord[] | undefined = [];
  private readonly snapshotAt: (Map<string, number> | undefined)[];
  private readonly snapshotUntil: number[];
  /** Unsubscribed, replaced, or its connection gone: whatever is still running for it stops. */
  closed = false;

  constructor(
    readonly prefix: string,
    readonly filter: SubscriptionFilter,
    partitionCount: number,
    private readonly maxHeld: number,
  ) {
    this.cursor = Array.from({ length: partitionCount }, () => -1);
    this.snapshotAt = Array.from({ length: partitionCount }, () => undefined);
    this.snapshotUntil = Array.from({ length: partitionCount }, () => -1);
  }

  get live(): boolean {
    return this.held === undefined;
  }

  covers(entityId: string): boolean {
    return entityId.startsWith(this.prefix);
  }

  /** Starts from these offsets (the partitions' positions, or what `since` named). */
  startAt(offsets: readonly number[]): void {
    offsets.forEach((offset, partition) => (this.cursor[partition] = offset));
  }

  /** An entity was sent whole as it is at `position` (its last change). */
  sentWhole(entityId: string, position: LogPosition | undefined): void {
    if (position === undefined || position.offset <= (this.cursor[position.partition] ?? Infinity)) return;
    const { partition, offset } = position;
    let entities = this.snapshotAt[partition];
    if (entities === undefined) this.snapshotAt[partition] = entities = new Map();
    entities.set(entityId, Math.max(offset, entities.get(entityId) ?? -1));
    this.snapshotUntil[partition] = Math.max(this.snapshotUntil[partition]!, offset);
  }

  /** A replayed change was sent. */
  replayed(change: ChangeRecord): void {
    this.cursor[change.partition] = Math.max(this.cursor[change.partition]!, change.offset);
  }

  /**
   * A live record of one of its entities: 'hold' while catching up ('overflow' when too many are
   * held: the subscription can no longer be made complete), then whether to deliver it.
   */
  receive(record: LiveRecord): 'hold' | 'overflow' | 'deliver' | 'drop' {
    if (this.held !== undefined) {
      if (this.held.length >= this.maxHeld) return 'overflow';
      this.held.push(record);
      return 'hold';
    }
    return this.accept(record) ? 'deliver' : 'drop';
  }

  /** Ends catching up: the held records to deliver, in order. */
  release(): LiveRecord[] {
    const held = this.held ?? [];
    this.held = undefined;
    return held.filter((record) => this.accept(record));
  }

  private accept(record: LiveRecord): boolean {
    const { partition, offset, entityId } = record;
    if (offset <= (this.cursor[partition] ?? Infinity)) return false;
    const sentAt = this.snapshotAt[partition]?.get(entityId);
    const reflected = sentAt !== undefined && offset <= sentAt;
    if (record.kind === 'snapshot') {
      // The state at a position, not a change: later changes of other entities may still be at
      // lower offsets (see CatchingUpFeed), so the cursor stays and the entity is remembered.
      if (!reflected) this.sentWhole(entityId, record);
      return !reflected;
    }
    // A change already reflected in what was sent is not sent again, but it is passed.
    this.cursor[partition] = offset;
    if (offset >= this.snapshotUntil[partition]!) this.snapshotAt[partition] = undefined;
    return !reflected;
  }
}
