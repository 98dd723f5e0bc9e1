import { assignPartitions } from '@flux/domain';
import type { Logger } from 'pino';
import type { Membership, PartitionOwner, ReducerMember, ReducerRegistry } from '../ports/reducer-registry.js';
import { consumerLag, type PartitionLag } from './consumer-lag.js';
import { EntityWorkingSet } from './entity-working-set.js';
import { PartitionReducer, type PartitionReducerOptions } from './partition-reducer.js';

export interface ElasticReducersOptions extends Omit<PartitionReducerOptions, 'partition' | 'logger'> {
  readonly registry: ReducerRegistry;
  /** This process: its id among the members and the address gateways reach it at. */
  readonly member: ReducerMember;
  readonly partitionCount: number;
  readonly logger: Logger;
  /**
   * How long a membership lasts without a heartbeat: a member silent this long (dead, paused,
   * cut off) is dropped and its partitions are claimed by the others.
   */
  readonly leaseMs: number;
  /** Between heartbeats while nothing is being handed over (default: a third of the lease, at most 1 s). */
  readonly heartbeatMs?: number;
  /** Between heartbeats while a handover is under way (default 100 ms). */
  readonly handoverPollMs?: number;
  /**
   * How long a partition assigned here waits for its live previous owner to let go before it is
   * claimed anyway (the claim then fences the previous owner). Default: the lease.
   */
  readonly handoverTimeoutMs?: number;
  /** Hears every change of the partitions this process applies (ascending). */
  readonly onOwnershipChanged?: (partitions: readonly number[]) => void;
  /** Hears each partition handed over to or away from this process. */
  readonly onHandover?: (partition: number, direction: 'acquired' | 'released' | 'lost') => void;
}

interface Owned {
  readonly reducer: PartitionReducer;
  readonly epoch: number;
  /** Set once the reducer stopped on its own (fenced, or its store failed). */
  failed: boolean;
}

type Phase = 'idle' | 'running' | 'stopping' | 'stopped';

/**
 * The reducers of one process when partitions are assigned at run time (elastic reducers).
 *
 * Every member renews a lease in the registry and computes the same assignment from the live
 * members (assignPartitions). A member lets go of a partition no longer assigned to it (its
 * reducer finishes the batch in hand, then the map entry is removed), and takes a partition
 * assigned to it once the previous owner let go, is no longer a member, or did not let go
 * within the handover timeout. Taking it is a claim in the state store: a new epoch that fences
 * whoever applied before, so exactly-once never depends on members agreeing, only on that
 * fence; the published map entry only tells gateways where to route.
 *
 * A member whose lease ran out (a pause, a cut-off) stops applying everything at its next
 * heartbeat, before it claims anything again; until then the fence refuses its commits.
 */
export class ElasticReducers {
  private readonly owned = new Map<number, Owned>();
  /** Partitions assigned here whose previous owner has not let go yet, since when. */
  private readonly waitingSince = new Map<number, number>();
  private readonly working: EntityWorkingSet;
  private readonly heartbeatMs: number;
  private readonly handoverPollMs: number;
  private readonly handoverTimeoutMs: number;
  private readonly logger: Logger;
  private readonly reducerOptions: Omit<PartitionReducerOptions, 'partition'>;
  private phase: Phase = 'idle';
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private lastHeartbeatAt = 0;
  private joined = false;
  private reported = '';

  constructor(private readonly options: ElasticReducersOptions) {
    if (!Number.isInteger(options.leaseMs) || options.leaseMs < 100) throw new RangeError(`leaseMs must be an integer ≥ 100, got ${options.leaseMs}`);
    this.working = options.workingSet ?? new EntityWorkingSet();
    this.heartbeatMs = options.heartbeatMs ?? Math.min(1_000, Math.floor(options.leaseMs / 3));
    this.handoverPollMs = options.handoverPollMs ?? 100;
    this.handoverTimeoutMs = options.handoverTimeoutMs ?? options.leaseMs;
    this.logger = options.logger.child({ member: options.member.id });
    const {
      registry: _registry,
      member: _member,
      partitionCount: _partitionCount,
      leaseMs: _leaseMs,
      heartbeatMs: _heartbeatMs,
      handoverPollMs: _handoverPollMs,
      handoverTimeoutMs: _handoverTimeoutMs,
      onOwnershipChanged: _onOwnershipChanged,
      onHandover: _onHandover,
      ...shared
    } = options;
    // One working set for the process, as in ReducerGroup: its byte bound holds over all partitions.
    this.reducerOptions = { ...shared, logger: this.logger, workingSet: this.working };
  }

  /** True once this process joined the members and took what was free for it. */
  get recovered(): boolean {
    return this.joined;
  }

  /** Partitions this process applies now (see ownedPartitions). */
  get partitionsOwned(): number {
    return this.ownedPartitions().length;
  }

  /**
   * The partitions applied here now, ascending: claimed and not lost. A partition being let go
   * still counts until its reducer has committed and published its last batch, so the changes
   * of that batch still reach the Watch streams of this process (a gateway takes a partition's
   * changes from whichever process owns it at the moment of the commit).
   */
  ownedPartitions(): number[] {
    return [...this.owned.entries()]
      .filter(([, owned]) => !owned.failed)
      .map(([partition]) => partition)
      .sort((a, b) => a - b);
  }

  owns(partition: number): boolean {
    const owned = this.owned.get(partition);
    return owned !== undefined && !owned.failed;
  }

  /** The lag of every partition applied here now (see consumerLag). */
  async lag(): Promise<readonly PartitionLag[]> {
    const running = [...this.owned.values()].filter((owned) => owned.reducer.running).map((owned) => owned.reducer);
    return Promise.all(
      running.map(async (reducer) => {
        const applied = reducer.appliedOffset;
        return { partition: reducer.partition, records: consumerLag(await this.options.log.endOffset(reducer.partition), applied) };
      }),
    );
  }

  /** Joins the members and takes the partitions assigned here that are free; rejects when the registry cannot be reached. */
  async start(): Promise<void> {
    if (this.phase !== 'idle') throw new Error('elastic reducers were started already');
    this.phase = 'running';
    const joined = await this.heartbeat();
    if (joined === undefined) throw new Error('could not join the reducer members: the registry did not answer');
    // A fresh member looks again one heartbeat later before it claims anything: reducers started
    // together (a deployment, a scale-up) then see each other and each claims its share once,
    // instead of the first claiming everything and handing most of it over again. One that
    // restarts within its lease is still a member and takes its partitions back at once.
    if (!joined.continuous) await new Promise((resolve) => setTimeout(resolve, this.heartbeatMs));
    await this.reconcile();
    this.joined = true;
  }

  /** Resolves once every partition applied here has applied up to the given offsets (others resolve at once). */
  async waitFor(positions: readonly { partition: number; offset: number }[]): Promise<void> {
    await Promise.all(positions.map((position) => this.owned.get(position.partition)?.reducer.waitForOffset(position.offset) ?? Promise.resolve()));
  }

  /**
   * Leaves cleanly: every reducer finishes its batch, the map entries are removed and the
   * membership ends, so the others take the partitions over at their next heartbeat instead of
   * after the lease.
   */
  async stop(): Promise<void> {
    if (this.phase === 'stopped' || this.phase === 'stopping') return;
    const wasRunning = this.phase === 'running';
    this.phase = 'stopping';
    clearTimeout(this.timer);
    await this.ticking;
    await Promise.all([...this.owned.keys()].map((partition) => this.release(partition)));
    if (wasRunning) {
      try {
        await this.options.registry.leave(this.options.member.id);
      } catch (error) {
        this.logger.warn({ err: error }, 'could not leave the reducer members; the others take over when the lease runs out');
      }
    }
    this.phase = 'stopped';
  }

  /** One round, never two at once: heartbeat, let go, take over; then the next round is scheduled. */
  private reconcile(): Promise<void> {
    this.ticking ??= this.round()
      .catch((error: unknown) => this.logger.error({ err: error }, 'reducer membership round failed; trying again'))
      .finally(() => {
        this.ticking = undefined;
        this.schedule();
      });
    return this.ticking;
  }

  private schedule(): void {
    if (this.phase !== 'running') return;
    clearTimeout(this.timer);
    const busy = this.waitingSince.size > 0 || [...this.owned.values()].some((owned) => owned.failed);
    this.timer = setTimeout(() => void this.reconcile(), busy ? this.handoverPollMs : this.heartbeatMs);
  }

  private async round(): Promise<void> {
    if (this.phase !== 'running') return;
    const membership = await this.heartbeat();
    if (membership === undefined || this.phase !== 'running') return;
    if (!membership.continuous && this.owned.size > 0) {
      // The lease ran out while this process was away: the others may own these partitions now.
      this.logger.warn({ partitions: [...this.owned.keys()] }, 'membership lease ran out; letting go of every partition before claiming again');
      await Promise.all([...this.owned.keys()].map((partition) => this.release(partition, 'lost')));
    }
    const assigned = new Set(
      assignPartitions(
        membership.members.map((member) => member.id),
        this.options.partitionCount,
      ).get(this.options.member.id),
    );

    // Reducers that stopped on their own: fenced (someone newer owns the partition) or failed.
    for (const [partition, owned] of this.owned) if (owned.failed) await this.release(partition, 'lost');
    // Let go of what is no longer assigned here.
    await Promise.all([...this.owned.keys()].filter((partition) => !assigned.has(partition)).map((partition) => this.release(partition)));

    const wanted = [...assigned].filter((partition) => !this.owned.has(partition));
    for (const partition of this.waitingSince.keys()) if (!assigned.has(partition)) this.waitingSince.delete(partition);
    if (wanted.length === 0) return this.report();
    const map = new Map<number, PartitionOwner>((await this.options.registry.partitionMap()).map((owner) => [owner.partition, owner]));
    const live = new Set(membership.members.map((member) => member.id));
    const now = Date.now();
    const claimable = wanted.filter((partition) => {
      const owner = map.get(partition);
      if (owner === undefined || owner.memberId === this.options.member.id || !live.has(owner.memberId)) return true;
      const since = this.waitingSince.get(partition) ?? now;
      this.waitingSince.set(partition, since);
      if (now - since < this.handoverTimeoutMs) return false;
      this.logger.warn({ partition, owner }, 'the previous owner did not let go in time; claiming the partition anyway (the claim fences it)');
      return true;
    });
    await Promise.all(claimable.map((partition) => this.acquire(partition)));
    this.report();
  }

  private async heartbeat(): Promise<Membership | undefined> {
    try {
      const membership = await this.options.registry.heartbeat(this.options.member, this.options.leaseMs);
      this.lastHeartbeatAt = Date.now();
      return membership;
    } catch (error) {
      this.logger.warn({ err: error }, 'reducer heartbeat failed');
      // Unable to renew: once the lease may have run out, the others may be claiming these
      // partitions, so stop applying them (their commits would be fenced anyway).
      if (this.lastHeartbeatAt !== 0 && Date.now() - this.lastHeartbeatAt >= this.options.leaseMs && this.owned.size > 0) {
        await Promise.all([...this.owned.keys()].map((partition) => this.release(partition, 'lost')));
        this.report();
      }
      return undefined;
    }
  }

  private async acquire(partition: number): Promise<void> {
    const { registry, member } = this.options;
    const reducer = new PartitionReducer({ ...this.reducerOptions, partition });
    try {
      await reducer.start();
    } catch (error) {
      this.logger.error({ err: error, partition }, 'could not claim the partition; trying again at the next heartbeat');
      return;
    }
    const epoch = reducer.claimEpoch;
    if (epoch === undefined) return; // stopped as soon as it started (its failure is logged)
    const owned: Owned = { reducer, epoch, failed: false };
    this.owned.set(partition, owned);
    this.waitingSince.delete(partition);
    reducer.done.then(
      () => undefined,
      (error: unknown) => {
        if (this.owned.get(partition) !== owned) return;
        owned.failed = true;
        this.logger.warn({ err: error, partition }, 'partition reducer stopped; letting go of the partition');
        if (this.phase === 'running') void this.reconcile();
      },
    );
    try {
      const published = await registry.publishOwner({ partition, memberId: member.id, address: member.address, epoch });
      if (!published) this.logger.warn({ partition, epoch }, 'a newer claim of the partition is in the map; this claim will be fenced');
    } catch (error) {
      // Gateways keep routing to the previous entry (and retry on a misrouted answer) until the
      // next round publishes it.
      this.logger.warn({ err: error, partition }, 'could not publish the partition owner');
    }
    this.options.onHandover?.(partition, 'acquired');
  }

  /** Stops the partition's reducer (it finishes its batch) and removes its map entry if it is still ours. */
  private async release(partition: number, direction: 'released' | 'lost' = 'released'): Promise<void> {
    const owned = this.owned.get(partition);
    if (owned === undefined) return;
    await owned.reducer.stop();
    this.owned.delete(partition);
    // Whatever this process kept of the partition's entities may be outdated by the next owner.
    this.working.forget(partition);
    try {
      await this.options.registry.releaseOwner(partition, this.options.member.id, owned.epoch);
    } catch (error) {
      // The entry stays until the next owner's claim replaces it; gateways get a misrouted answer meanwhile.
      this.logger.warn({ err: error, partition }, 'could not remove the partition’s map entry');
    }
    this.options.onHandover?.(partition, direction);
  }

  private report(): void {
    const partitions = this.ownedPartitions();
    const key = partitions.join(',');
    if (key === this.reported) return;
    this.reported = key;
    this.logger.info({ partitions }, 'partitions applied here changed');
    this.options.onOwnershipChanged?.(partitions);
  }
}
