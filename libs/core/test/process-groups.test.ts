import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  isTrackedProcessGroup,
  processGroupGone,
  signalProcessGroup,
  stopProcessGroup,
  trackProcessGroup,
  untrackProcessGroup,
} from '../src/tooling/index.js';

describe('process groups', () => {
  it('stops a detached process together with the processes it started', async () => {
    // The leader starts a grandchild in its group, then both sleep.
    const leader = spawn('sh', ['-c', 'sleep 60 & sleep 60'], { detached: true, stdio: 'ignore' });
    const group = leader.pid!;
    trackProcessGroup(group);
    try {
      expect(signalProcessGroup(group, 0)).toBe(true);
      expect(signalProcessGroup(group, 'SIGTERM')).toBe(true);
      expect(await processGroupGone(group, 5_000)).toBe(true);
      expect(signalProcessGroup(group, 0)).toBe(false);
    } finally {
      signalProcessGroup(group, 'SIGKILL');
      untrackProcessGroup(group);
    }
  });

  it('reports a group that is still running once the wait runs out', async () => {
    // Ignored signals are inherited, so neither the shell nor its sleep dies of SIGTERM.
    const leader = spawn('sh', ['-c', 'trap "" TERM; echo ready; sleep 60'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    const group = leader.pid!;
    try {
      await new Promise((resolve) => leader.stdout!.once('data', resolve));
      expect(signalProcessGroup(group, 'SIGTERM')).toBe(true);
      expect(await processGroupGone(group, 300)).toBe(false);
    } finally {
      signalProcessGroup(group, 'SIGKILL');
    }
  });

  it('stopProcessGroup kills a group that outlives its grace period, and stops tracking it', async () => {
    const polite = spawn('sh', ['-c', 'sleep 60 & sleep 60'], { detached: true, stdio: 'ignore' });
    const stubborn = spawn('sh', ['-c', 'trap "" TERM; echo ready; sleep 60'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((resolve) => stubborn.stdout!.once('data', resolve));
      trackProcessGroup(polite.pid!);
      trackProcessGroup(stubborn.pid!);
      expect(await stopProcessGroup(polite.pid!, 'SIGTERM', 5_000)).toBe(true);
      expect(await stopProcessGroup(stubborn.pid!, 'SIGTERM', 300)).toBe(false);
      expect(signalProcessGroup(stubborn.pid!, 0)).toBe(false); // killed after the grace period
      expect(isTrackedProcessGroup(polite.pid!) || isTrackedProcessGroup(stubborn.pid!)).toBe(false);
    } finally {
      signalProcessGroup(polite.pid!, 'SIGKILL');
      signalProcessGroup(stubborn.pid!, 'SIGKILL');
    }
  });
});
