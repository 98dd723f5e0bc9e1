/**
 * Versions of the Kafka and Redis a cluster run uses, for the results file. The services
 * themselves come from deploy/local/local-services.ts; each run writes to its own topic and key
 * prefix, removed afterwards so runs never see each other's data.
 */
import { connectRedis } from '@flux/redis';
import { commandLines } from './proc-stats.js';

export async function redisVersion(redisUrl: string): Promise<string> {
  const redis = await connectRedis(redisUrl, { connectionName: 'flux-bench', maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('server');
    return /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}

const KAFKA_MAIN = 'kafka.Kafka';

/**
 * Pids of the Kafka broker and redis-server processes on this machine: the cluster's CPU
 * figures count them with Flux's own processes. Other users of the same services add to them.
 */
export function servicePids(): number[] {
  return commandLines()
    .filter(({ cmdline }) => cmdline.includes(KAFKA_MAIN) || /(^|\/)redis-server(\0| |$)/.test(cmdline))
    .map(({ pid }) => pid);
}

/**
 * Kafka's wire protocol does not carry the broker's release, so it is read from the broker's
 * command line (the jar names carry it) when the broker runs on this machine.
 */
export function kafkaVersion(): string {
  for (const { cmdline } of commandLines()) {
    if (!cmdline.includes(KAFKA_MAIN)) continue;
    const version = /kafka_\d+\.\d+-(\d+\.\d+\.\d+)\.jar/.exec(cmdline)?.[1] ?? /kafka-(\d+\.\d+\.\d+)/.exec(cmdline)?.[1];
    if (version !== undefined) return version;
  }
  return 'unknown';
}
