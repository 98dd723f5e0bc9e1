/**
 * Kafka and Redis for local runs (the cluster launcher, the benchmark, the test deployments):
 * KAFKA_BROKERS / REDIS_URL when both are set, else the ones deploy/local/services.sh starts
 * (or finds running). Also the clean-up of what one deployment left in them.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteKafkaTopics } from '@flux/kafka';
import { deleteRedisKeys } from '@flux/redis';

export interface LocalServices {
  readonly kafkaBrokers: string;
  readonly redisUrl: string;
}

const SERVICES_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'services.sh');

/** The `export NAME=value` lines `services.sh up` prints last on stdout. */
export function parseServicesOutput(output: string): LocalServices {
  const value = (name: string): string => {
    const match = new RegExp(`^export ${name}=(\\S+)$`, 'm').exec(output);
    if (match?.[1] === undefined) throw new Error(`services.sh up did not print ${name}`);
    return match[1];
  };
  return { kafkaBrokers: value('KAFKA_BROKERS'), redisUrl: value('REDIS_URL') };
}

/** The environment's Kafka and Redis, or local ones started with services.sh (its progress goes to stderr). */
export function localServices(env: NodeJS.ProcessEnv = process.env): LocalServices {
  const { KAFKA_BROKERS, REDIS_URL } = env;
  if (KAFKA_BROKERS && REDIS_URL) return { kafkaBrokers: KAFKA_BROKERS, redisUrl: REDIS_URL };
  process.stderr.write('KAFKA_BROKERS / REDIS_URL not set: starting (or reusing) local Kafka and Redis with deploy/local/services.sh up\n');
  return parseServicesOutput(execFileSync('bash', [SERVICES_SCRIPT, 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
}

/** Deletes one deployment's Kafka topic and Redis keys (FLUX_KAFKA_TOPIC, FLUX_REDIS_KEY_PREFIX). */
export async function removeDeploymentData(services: LocalServices, topic: string, keyPrefix: string): Promise<void> {
  const brokers = services.kafkaBrokers
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
  await deleteKafkaTopics({ brokers, clientId: 'flux-cleanup', logLevel: 'nothing', topics: [topic] });
  // Under FLUX_REDIS_CLUSTER=true (services.sh up --redis-cluster) the keys are spread over the masters.
  const cluster = process.env.FLUX_REDIS_CLUSTER === 'true';
  await deleteRedisKeys(
    cluster
      ? { url: services.redisUrl, username: undefined, password: undefined, tls: undefined, topology: { kind: 'cluster', seeds: [] } }
      : services.redisUrl,
    keyPrefix,
  );
}
