/**
 * Kafka and Redis for the cluster run: taken from KAFKA_BROKERS / REDIS_URL when set, else
 * started (or reused) with deploy/local/services.sh. Each run writes to its own topic and key
 * prefix, which are removed afterwards so runs never see each other's data.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { deleteKafkaTopics } from '@flux/kafka';
import { deleteRedisKeys } from '@flux/redis';

export interface ClusterServices {
  readonly kafkaBrokers: string;
  readonly redisUrl: string;
}

/** The `export NAME=value` lines services.sh prints last on stdout. */
export function parseServicesOutput(output: string): ClusterServices {
  const value = (name: string): string => {
    const match = new RegExp(`^export ${name}=(\\S+)$`, 'm').exec(output);
    if (match?.[1] === undefined) throw new Error(`services.sh up did not print ${name}`);
    return match[1];
  };
  return { kafkaBrokers: value('KAFKA_BROKERS'), redisUrl: value('REDIS_URL') };
}

export function clusterServices(repoRoot: string): ClusterServices {
  const { KAFKA_BROKERS, REDIS_URL } = process.env;
  if (KAFKA_BROKERS && REDIS_URL) return { kafkaBrokers: KAFKA_BROKERS, redisUrl: REDIS_URL };
  process.stderr.write('KAFKA_BROKERS / REDIS_URL not set: starting (or reusing) local Kafka and Redis with deploy/local/services.sh up\n');
  const output = execFileSync('bash', [join(repoRoot, 'deploy/local/services.sh'), 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return parseServicesOutput(output);
}

export async function redisVersion(redisUrl: string): Promise<string> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
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

/** Deletes the run's topic and every Redis key under its prefix. */
export async function removeClusterData(services: ClusterServices, topic: string, keyPrefix: string): Promise<void> {
  await deleteKafkaTopics({ brokers: services.kafkaBrokers.split(','), clientId: 'flux-bench', logLevel: 'nothing', topics: [topic] });
  await deleteRedisKeys(services.redisUrl, keyPrefix);
}
