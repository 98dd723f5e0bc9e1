import { murmur2, toPositive } from './partitioner.js';

const encoder = new TextEncoder();

/** How strongly `member` wants `partition`: a hash of both, so every process computes the same. */
const weight = (member: string, partition: number): number => toPositive(murmur2(encoder.encode(`${member}\u0000${partition}`)));

/**
 * Which partitions each member applies, computed alike by every member from the same member
 * list: rendezvous hashing (each partition goes to the member that weighs it highest), capped
 * at ceil(partitions / members) per member so the load stays even. A member joining or leaving
 * moves few partitions besides its own share, so a rescale hands over little. Members are
 * taken as a set (order and duplicates do not matter); with none, nothing is assigned.
 */
export function assignPartitions(members: readonly string[], partitionCount: number): Map<string, number[]> {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partition count must be a positive integer, got ${partitionCount}`);
  }
  const ids = [...new Set(members)].sort();
  const assignment = new Map<string, number[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return assignment;
  const cap = Math.ceil(partitionCount / ids.length);
  for (let partition = 0; partition < partitionCount; partition++) {
    let best: string | undefined;
    let bestWeight = -1;
    for (const id of ids) {
      if (assignment.get(id)!.length >= cap) continue;
      const w = weight(id, partition);
      // Ties (vanishingly rare) go to the smaller id, so the choice stays the same everywhere.
      if (w > bestWeight) {
        best = id;
        bestWeight = w;
      }
    }
    // Some member is below the cap: members × cap ≥ partitions.
    assignment.get(best!)!.push(partition);
  }
  return assignment;
}
