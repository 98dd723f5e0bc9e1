import { join } from 'node:path';
import {
  describeControlStoreContract,
  describeEventLogContract,
  describePollLeaseContract,
  describeRateLimiterContract,
  describeStateStoreContract,
  describeChangeReplayContract,
} from '@flux/core/testing';
import { LmdbControlStore, LmdbEventLog, LmdbStateStore, MemoryPollLease, MemoryRateLimiter } from '../src/index.js';
import { tempDir } from './temp-dir.js';

describeEventLogContract('LmdbEventLog', async ({ partitionCount }) => {
  const dir = await tempDir();
  return {
    open: async () => LmdbEventLog.open({ path: join(dir.path, 'log'), partitionCount }),
    dispose: dir.remove,
  };
});

describeStateStoreContract('LmdbStateStore', async () => {
  const dir = await tempDir();
  return {
    open: async () => LmdbStateStore.open({ path: join(dir.path, 'state') }),
    dispose: dir.remove,
  };
});

describeChangeReplayContract('LmdbStateStore', async (changeRetentionOffsets) => {
  const dir = await tempDir();
  return {
    open: async () => LmdbStateStore.open({ path: join(dir.path, 'state'), changeRetentionOffsets }),
    dispose: dir.remove,
  };
});

describeControlStoreContract('LmdbControlStore', async () => {
  const dir = await tempDir();
  return {
    // Watcher failures would only be noise here; the contract checks delivery, not reporting.
    open: async () => LmdbControlStore.open({ path: join(dir.path, 'control'), onListenerError: () => undefined }),
    dispose: dir.remove,
  };
});

describeRateLimiterContract('MemoryRateLimiter', async () => {
  const limiter = new MemoryRateLimiter();
  return { open: async () => limiter, dispose: async () => undefined };
});

describePollLeaseContract('MemoryPollLease', async () => {
  const lease = new MemoryPollLease();
  return { open: async () => lease, dispose: async () => undefined };
});
