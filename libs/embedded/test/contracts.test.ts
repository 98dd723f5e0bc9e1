import { join } from 'node:path';
import {
  describeChangeFeedContract,
  describeControlStoreContract,
  describeEventLogContract,
  describePollLeaseContract,
  describeRateLimiterContract,
  describeStateStoreContract,
} from '@flux/core/testing';
import { LmdbControlStore, LmdbEventLog, LmdbStateStore, MemoryChangeFeed, MemoryPollLease, MemoryRateLimiter } from '../src/index.js';
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

describeControlStoreContract('LmdbControlStore', async () => {
  const dir = await tempDir();
  return {
    // Watcher failures would only be noise here; the contract checks delivery, not reporting.
    open: async () => LmdbControlStore.open({ path: join(dir.path, 'control'), onListenerError: () => undefined }),
    dispose: dir.remove,
  };
});

describeChangeFeedContract('MemoryChangeFeed', async () => {
  // One in-process channel: every open returns the same feed.
  const feed = new MemoryChangeFeed({ onListenerError: () => undefined });
  return { open: async () => feed, dispose: async () => undefined };
});

describeRateLimiterContract('MemoryRateLimiter', async () => {
  const limiter = new MemoryRateLimiter();
  return { open: async () => limiter, dispose: async () => undefined };
});

describePollLeaseContract('MemoryPollLease', async () => {
  const lease = new MemoryPollLease();
  return { open: async () => lease, dispose: async () => undefined };
});
