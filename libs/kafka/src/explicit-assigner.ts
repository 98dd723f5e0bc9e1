import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

export const EXPLICIT_ASSIGNER_NAME = 'FluxExplicitAssigner';

/**
 * kafkajs has no manual partition assignment (no `consumer.assign`), so every consumer of this
 * adapter runs in a group of its own, and this assigner gives exactly `partitions` of `topic`
 * to one member. A group is meant to have a single member; if a second process ever joins the
 * same group id, it gets nothing rather than a second copy of the partitions (one reader per
 * partition and group, never two).
 */
export function explicitAssigner(topic: string, partitions: readonly number[]): PartitionAssigner {
  const assigned = [...partitions].sort((a, b) => a - b);
  return () => ({
    name: EXPLICIT_ASSIGNER_NAME,
    version: 1,
    protocol: ({ topics }) => ({
      name: EXPLICIT_ASSIGNER_NAME,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
    }),
    assign: async ({ members }) => {
      // Only the first listed member gets the partitions (the group should have just one).
      return members.map((member, index) => ({
        memberId: member.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: { [topic]: index === 0 ? assigned : [] },
          userData: Buffer.alloc(0),
        }),
      }));
    },
  });
}
