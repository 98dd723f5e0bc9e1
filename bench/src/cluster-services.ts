/**
 * Versions of the Kafka and Redis a cluster run uses, for the results file. The services
 * themselves come from deploy/local/local-services.ts; each run writes to its own topic and key
 * prefix, removed afterwards so runs never see each other's data.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connectRedis } from '@flux/redis';

export async function redisVersion(redisUrl: string): Promise<string> {
  const redis = await connectRedis(redisUrl, { connectionName: 'flux-bench', maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('server');
    return /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}

/**
 * Kafka's wire protocol does not carry the broker's release, so it is read from the broker's
 * command line (the jar names carry it) when the broker runs on this machine.
 */
export function kafkaVersion(): string {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmdline.includes('kafka.Kafka')) continue;
    const version = /kafka_\d+\.\d+-(\d+\.\d+\.\d+)\.jar/.exec(cmdline)?.[1] ?? /kafka-(\d+\.\d+\.\d+)/.exec(cmdline)?.[1];
    if (version !== undefined) return version;
  }
  return 'unknown';
}
