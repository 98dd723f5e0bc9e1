import { describeChangeFeedContract } from '../src/testing/index.js';
import { MemoryChangeFeed } from '../src/index.js';

describeChangeFeedContract('MemoryChangeFeed', async () => {
  // One in-process channel: every open returns the same feed.
  const feed = new MemoryChangeFeed({ onListenerError: () => undefined });
  return { open: async () => feed, dispose: async () => undefined };
});
