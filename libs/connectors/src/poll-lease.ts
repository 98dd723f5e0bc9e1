/** The lease key of one credential (see the PollLease port in @flux/core). */
export const pollLeaseKey = (connector: string, owner: string): string => `${connector}:${owner}`;
