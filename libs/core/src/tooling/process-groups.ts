/**
 * Process groups of servers a tool started detached (test deployments, benchmark runs): each
 * server leads its own group, so stopping it also stops every process it started itself (the
 * cluster launcher's reducers and gateways). Groups registered here are killed when the
 * current process exits, however it exits, so no server outlives its harness.
 */
const liveGroups = new Set<number>();

process.once('exit', () => {
  for (const group of liveGroups) signalProcessGroup(group, 'SIGKILL');
});

/** Signals every process of the group; false when the group no longer exists. Signal 0 only probes. */
export function signalProcessGroup(group: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-group, signal);
    return true;
  } catch {
    return false;
  }
}

/** Kills the group with SIGKILL if it is still alive when this process exits. */
export function trackProcessGroup(group: number): void {
  liveGroups.add(group);
}

/** The group was stopped on purpose: no kill at exit. */
export function untrackProcessGroup(group: number): void {
  liveGroups.delete(group);
}

export function isTrackedProcessGroup(group: number): boolean {
  return liveGroups.has(group);
}

/** Waits until no process of the group is left, up to `timeoutMs`; true when it is empty. */
export async function processGroupGone(group: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (signalProcessGroup(group, 0)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolveDelay) => setTimeout(resolveDelay, 50));
  }
  return true;
}

/**
 * Stops a group: `signal` to every process of it, SIGKILL to whatever is left once `graceMs`
 * has passed since, then up to 5 s more for the kill to land. The group is no longer killed at
 * exit. Resolves true when it stopped within the grace period.
 */
export async function stopProcessGroup(group: number, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<boolean> {
  signalProcessGroup(group, signal);
  const stopped = await processGroupGone(group, graceMs);
  if (!stopped) {
    signalProcessGroup(group, 'SIGKILL');
    await processGroupGone(group, 5_000);
  }
  untrackProcessGroup(group);
  return stopped;
}
