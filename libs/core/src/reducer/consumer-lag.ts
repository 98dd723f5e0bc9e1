/** How far one partition's reducer is behind its log. */
export interface PartitionLag {
  readonly partition: number;
  /** Records in the log not yet applied. */
  readonly records: number;
}

/**
 * Records of a partition not yet applied: the log end offset (the offset the next record will
 * get) minus the offset after the last applied one, which is Kafka's consumer lag. Not clamped:
 * read the applied offset before the end offset and it is never negative while the log only
 * grows, so a negative lag means the log is shorter than what was applied (a recreated topic).
 */
export function consumerLag(endOffset: number, appliedOffset: number): number {
  return endOffset - (appliedOffset + 1);
}
