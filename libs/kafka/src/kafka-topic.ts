import { setTimeout as delay } from 'node:timers/promises';
import { TOPIC_MAX_MESSAGE_BYTES } from './append-batcher.js';
import type { Admin } from 'kafkajs';
import { ErrorCode, FluxError } from '@flux/domain';
import { createKafkaClient, isRetriable, retryWhileRetriable, type KafkaClientOptions } from './kafka-client.js';

export interface KafkaTopicSpec {
  readonly topic: string;
  /**
   * Partitions of the topic when it has to be created. P is fixed at creation (invariant 1):
   * an existing topic keeps its own count, which is what ensureTopic reports. Without it, the
   * topic must already exist.
   */
  readonly partitionCount?: number;
  /** Replicas per partition when the topic is created; default 1 (a single local broker). */
  readonly replicationFactor?: number;
  /**
   * Extra topic configs at creation. With 3 or more replicas, `min.insync.replicas` defaults to
   * 2, so that an acks=all append is on two brokers before it is acknowledged (invariant 3).
   */
  readonly config?: Readonly<Record<string, string>>;
}

export interface KafkaTopicInfo {
  readonly topic: string;
  /** The topic's real partition count (the existing one when it was not created here). */
  readonly partitionCount: number;
  /** True when this call created the topic. */
  readonly created: boolean;
}

/**
 * Makes sure `spec.topic` exists (creating it with `partitionCount` partitions and
 * `replicationFactor` replicas when missing) and reports its partition count. Safe to call
 * from several processes at once: whoever loses the creation race adopts the winner's topic.
 */
export async function ensureTopic(admin: Admin, spec: KafkaTopicSpec): Promise<KafkaTopicInfo> {
  const { topic, partitionCount, replicationFactor = 1, config = {} } = spec;
  if (topic.trim() === '') throw new RangeError('the Kafka topic name must not be empty');
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw new RangeError(`replicationFactor must be a positive integer, got ${replicationFactor}`);
  }
  if (partitionCount !== undefined && (!Number.isInteger(partitionCount) || partitionCount < 1)) {
    throw new RangeError(`partitionCount must be a positive integer, got ${partitionCount}`);
  }
  let created = false;
  // Looking first keeps the common case (the topic exists) free of a refused CreateTopics,
  // which kafkajs would log as an error; a creation race is still settled by the broker.
  const exists = (await admin.listTopics()).includes(topic);
  if (!exists && partitionCount !== undefined) {
    created = await createTopicRetrying(admin, {
      // Leaders are awaited below: when kafkajs waits for them itself and gives up, the topic
      // exists already, and asking again would wrongly report it as found rather than created.
      waitForLeaders: false,
      topics: [
        {
          topic,
          numPartitions: partitionCount,
          replicationFactor,
          configEntries: Object.entries({
            'max.message.bytes': String(TOPIC_MAX_MESSAGE_BYTES),
            ...(replicationFactor >= 3 ? { 'min.insync.replicas': '2' } : {}),
            ...config,
          }).map(([name, value]) => ({ name, value })),
        },
      ],
    });
  } else if (!exists) {
    throw new FluxError(ErrorCode.NotConfigured, `the Kafka topic ${topic} does not exist and no partition count was given to create it`);
  }
  // Only a topic this call tried to create is waited for: an existing topic with a partition
  // whose leader is offline still serves the others, as it did before this process started.
  return { topic, partitionCount: await partitionCountOf(admin, topic, exists ? 0 : LEADERS_TIMEOUT_MS), created };
}

/** Attempts at creating a topic while Kafka answers with a retriable error. */
const CREATE_ATTEMPTS = 5;

/**
 * createTopics, retried while Kafka answers with a retriable error (e.g. NOT_CONTROLLER while
 * a controller is elected). Asking again is safe: a topic that exists answers false.
 */
const createTopicRetrying = (admin: Admin, options: Parameters<Admin['createTopics']>[0]): Promise<boolean> =>
  retryWhileRetriable(() => admin.createTopics(options), CREATE_ATTEMPTS, 200);

/** How long a new topic's partitions may take to elect their leaders before it counts as unavailable. */
const LEADERS_TIMEOUT_MS = 30_000;

/**
 * The topic's partition count; with a wait, only once every partition has a leader. A topic
 * created moments ago may not have reached the broker's metadata yet (UNKNOWN_TOPIC_OR_PARTITION,
 * retriable) or may list partitions still without a leader, and producing to it would fail.
 */
async function partitionCountOf(admin: Admin, topic: string, waitForLeadersMs: number): Promise<number> {
  const deadline = Date.now() + waitForLeadersMs;
  let lastProblem = 'no metadata';
  for (let attempt = 1; ; attempt++) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const partitions = metadata.topics.find((t) => t.name === topic)?.partitions ?? [];
      const leaderless = partitions.filter((p) => p.leader < 0).length;
      if (partitions.length > 0 && (leaderless === 0 || waitForLeadersMs === 0)) return partitions.length;
      lastProblem = partitions.length === 0 ? 'no partitions in the cluster metadata' : `${leaderless} partitions without a leader`;
    } catch (error) {
      if (!isRetriable(error) || waitForLeadersMs === 0) throw error;
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) {
      const waited = waitForLeadersMs === 0 ? '' : ` after ${waitForLeadersMs} ms`;
      throw new FluxError(ErrorCode.LogUnavailable, `the Kafka topic ${topic} is not available${waited}: ${lastProblem}`);
    }
    await delay(Math.min(100 * attempt, 1000));
  }
}

/** ensureTopic with a short-lived admin client of its own (deploy scripts, tests). */
export async function ensureKafkaTopic(options: KafkaClientOptions & KafkaTopicSpec): Promise<KafkaTopicInfo> {
  const admin = createKafkaClient(options).admin();
  await admin.connect();
  try {
    return await ensureTopic(admin, options);
  } finally {
    await admin.disconnect();
  }
}

/** Deletes topics (missing ones are ignored). Meant for tests and tooling, never the pipeline. */
export async function deleteKafkaTopics(options: KafkaClientOptions & { readonly topics: readonly string[] }): Promise<void> {
  const admin = createKafkaClient(options).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const topics = options.topics.filter((t) => existing.has(t));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
  } finally {
    await admin.disconnect();
  }
}
