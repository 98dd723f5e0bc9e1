/**
 * Elastic reducers: which reducer processes are alive, and which of them applies and serves
 * each partition (the partition map). Reducers keep their membership alive with heartbeats and
 * publish the partitions they claimed; gateways read the map to route. The map only routes:
 * exactly-once rests on the claim epoch the state store checks in every commit, never on it.
 */

/** A live reducer process. */
export interface ReducerMember {
  /** Stable for the process's life, unique among live members (the pod name in Kubernetes). */
  readonly id: string;
  /** `host:port` of its gRPC server, as gateways reach it. */
  readonly address: string;
}

/** One entry of the partition map: who applies and serves a partition now, under which claim. */
export interface PartitionOwner {
  readonly partition: number;
  readonly memberId: string;
  readonly address: string;
  /** The epoch of the owner's claim (see PartitionClaim). */
  readonly epoch: number;
}

/** The live members as one heartbeat saw them. */
export interface Membership {
  /** Every member whose lease has not run out, this one included, ordered by id. */
  readonly members: readonly ReducerMember[];
  /**
   * False when this member was not live just before this heartbeat: it joined, or its lease ran
   * out (a pause, a partition from the store). In the second case others may have claimed its
   * partitions meanwhile, so it must stop applying them before it claims anything again.
   */
  readonly continuous: boolean;
}

/** The partition map as gateways read it. */
export interface PartitionMapReader {
  /** Every partition that has an owner now, in partition order; partitions being handed over are absent. */
  partitionMap(): Promise<readonly PartitionOwner[]>;
}

/** Membership and the partition map as reducers maintain them. */
export interface ReducerRegistry extends PartitionMapReader {
  /**
   * Renews (or starts) `member`'s lease for `leaseMs`, measured by the registry's own clock so
   * members' clocks need not agree, and answers the live members.
   */
  heartbeat(member: ReducerMember, leaseMs: number): Promise<Membership>;
  /** Ends `memberId`'s lease now (a clean shutdown: the others take over without waiting for it to run out). */
  leave(memberId: string): Promise<void>;
  /**
   * Records `owner` as the partition's entry unless the map holds a newer epoch for it (a
   * claim that lost the race publishes nothing). True when recorded.
   */
  publishOwner(owner: PartitionOwner): Promise<boolean>;
  /** Removes the partition's entry if it is still `memberId`'s at `epoch`. */
  releaseOwner(partition: number, memberId: string, epoch: number): Promise<void>;
}
