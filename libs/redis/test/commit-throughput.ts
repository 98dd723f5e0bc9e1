/**
 * Measures commit throughput of RedisStateStore against $REDIS_URL (not part of the test run):
 *   eval "$(npm run --silent services:up)" && npx tsx libs/redis/test/commit-throughput.ts
 * Each commit carries 1000 upserts (realistic entities), their 1000 history events, count deltas
 * and 1000 change summaries: what a reducer writes for a batch of 1000 events on new ids.
 */
import type { PartitionCommit } from '@flux/core';
import { connect, deleteKeysWithPrefix, uniquePrefix } from './support.js';
import { RedisStateStore } from '../src/index.js';

const url = process.env.REDIS_URL;
if (url === undefined || url === '') throw new Error('REDIS_URL is not set (eval "$(npm run --silent services:up)")');

const BATCH = 1000;
const COMMITS = Number(process.env.COMMITS ?? 40);
const T0 = Date.now();

function batch(partition: number, index: number, withHistory: boolean): PartitionCommit {
  const upserts = [];
  const history = [];
  for (let i = 0; i < BATCH; i++) {
    const offset = index * BATCH + i;
    const id = `ns${i % 10}/p${partition}-entity-${offset}`;
    const properties = {
      temperature: 20 + (i % 7) * 0.5,
      humidity: 40 + (i % 13),
      status: 'online',
      location: { lat: 52.52, lon: 13.405 },
      tags: ['a', 'b'],
    };
    upserts.push({ id, entity: { properties, version: 1, lastUpdated: T0 + offset } });
    if (withHistory) {
      history.push({
        entityId: id,
        offset,
        stored: {
          event: {
            eventId: `0190f0e0-0000-7000-8000-${String(offset).padStart(12, '0')}`,
            stream: 'sensors',
            source: 'bench',
            timestamp: T0,
            payload: { entity_id: id, properties },
          },
          storedAt: T0 + offset,
        },
      });
    }
  }
  const countDeltas = Object.fromEntries(Array.from({ length: 10 }, (_, n) => [`ns${n}`, BATCH / 10]));
  return { lastOffset: (index + 1) * BATCH - 1, upserts, deletes: [], history, countDeltas, eventsApplied: BATCH };
}

async function run(label: string, partitions: number, withHistory: boolean): Promise<void> {
  const prefix = uniquePrefix();
  const clients = await Promise.all(Array.from({ length: partitions }, () => connect(url!)));
  try {
    const stores = clients.map((client) => new RedisStateStore({ client, partitionCount: partitions, keyPrefix: prefix }));
    const claims = await Promise.all(stores.map((store, p) => store.claimPartition(p)));
    // Warm-up: loads the script on each connection (EVAL once, EVALSHA afterwards).
    await Promise.all(stores.map((store, p) => store.commit(claims[p]!, { ...batch(p, 0, withHistory), lastOffset: 0 })));
    const prepared = stores.map((_, p) => Array.from({ length: COMMITS }, (_, i) => batch(p, i + 1, withHistory)));
    const started = process.hrtime.bigint();
    await Promise.all(
      stores.map(async (store, p) => {
        for (const commit of prepared[p]!) await store.commit(claims[p]!, commit);
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const commits = COMMITS * partitions;
    console.log(
      `${label}: ${commits} commits of ${BATCH} upserts in ${seconds.toFixed(2)} s = ${(commits / seconds).toFixed(1)} commits/s (${Math.round((commits * BATCH) / seconds)} upserts/s, ${((seconds / commits) * 1000).toFixed(1)} ms per commit)`,
    );
  } finally {
    await deleteKeysWithPrefix(clients[0]!, prefix);
    await Promise.all(clients.map((client) => client.quit()));
  }
}

await run('1 partition, upserts + history + changes', 1, true);
await run('1 partition, upserts + changes (no history)', 1, false);
await run('4 partitions in parallel, upserts + history + changes', 4, true);
