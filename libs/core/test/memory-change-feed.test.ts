import { describe, expect, it } from 'vitest';
import type { ChangeRecord } from '@flux/domain';
import { MemoryChangeFeed } from '../src/index.js';

const change = (offset: number): ChangeRecord => ({
  kind: 'delete',
  partition: 0,
  offset,
  entityId: 'e',
  timestamp: 1_767_000_000_000,
  source: 'test',
});

describe('MemoryChangeFeed', () => {
  it('reports a throwing listener and still delivers to the others', () => {
    const errors: unknown[] = [];
    const feed = new MemoryChangeFeed({ onListenerError: (error) => errors.push(error) });
    const failure = new Error('listener failed');
    const received: (readonly ChangeRecord[])[] = [];
    feed.subscribe(() => {
      throw failure;
    });
    feed.subscribe((changes) => received.push(changes));
    feed.publish([change(0)]);
    feed.publish([change(1)]);
    expect(errors).toEqual([failure, failure]);
    expect(received).toEqual([[change(0)], [change(1)]]);
  });

  it('applies (un)subscriptions made during a publish from the next batch on', () => {
    const feed = new MemoryChangeFeed();
    const log: string[] = [];
    let unsubscribeLast = (): void => undefined;
    feed.subscribe((changes) => {
      log.push(`first:${changes[0]!.offset}`);
      feed.subscribe((later) => log.push(`added:${later[0]!.offset}`));
      unsubscribeLast();
    });
    unsubscribeLast = feed.subscribe((changes) => log.push(`last:${changes[0]!.offset}`));
    feed.publish([change(0)]);
    feed.publish([change(1)]);
    expect(log).toEqual(['first:0', 'first:1', 'added:1']);
  });

  it('skips empty batches and forgets unsubscribed listeners', () => {
    const feed = new MemoryChangeFeed();
    const received: unknown[] = [];
    const unsubscribe = feed.subscribe((changes) => received.push(changes));
    feed.publish([]);
    expect(received).toEqual([]);
    expect(feed.listenerCount).toBe(1);
    unsubscribe();
    expect(feed.listenerCount).toBe(0);
  });
});
