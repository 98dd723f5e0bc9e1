import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs';
import { explicitAssigner } from './explicit-assigner.js';

/** Consumer settings shared by subscriptions and the reader behind read(). */
export interface ConsumerTuning {
  /**
   * Longest time the broker holds a fetch open while no record is there. With minBytes 1 the
   * broker answers as soon as a record arrives, so this adds no latency: it only sets how often
   * an idle partition is polled (and how long stopping waits for the fetch in flight).
   * Default 500 ms.
   */
  readonly maxWaitTimeMs: number;
  /** Default 10 s: a crashed member's group is free again after this long. */
  readonly sessionTimeoutMs: number;
  /** Default 10 s. */
  readonly rebalanceTimeoutMs: number;
  /** Default 1 s (also the heartbeat cadence while a handler is busy with a long batch). */
  readonly heartbeatIntervalMs: number;
  /** Bytes fetched per partition and request; default 1 MiB. */
  readonly maxBytesPerPartition: number;
  /** read() gives up (FLUX_LOG_UNAVAILABLE) when the records do not arrive within this time. Default 30 s. */
  readonly readTimeoutMs: number;
}

export const DEFAULT_CONSUMER_TUNING: ConsumerTuning = {
  maxWaitTimeMs: 500,
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 10_000,
  heartbeatIntervalMs: 1_000,
  // A whole record batch of the largest size the topic accepts must fit one fetch.
  maxBytesPerPartition: 16 * 1024 * 1024,
  readTimeoutMs: 30_000,
};

/**
 * A consumer alone in its own group, owning exactly `partitions` of `topic` through the
 * explicit assigner. Offsets are never committed to Kafka (they live in the state store, next
 * to the state they produced); positions come from seek().
 */
export function createAssignedConsumer(
  kafka: Kafka,
  topic: string,
  groupId: string,
  partitions: readonly number[],
  tuning: ConsumerTuning,
): Consumer {
  const config: ConsumerConfig = {
    groupId,
    partitionAssigners: [explicitAssigner(topic, partitions)],
    sessionTimeout: tuning.sessionTimeoutMs,
    rebalanceTimeout: tuning.rebalanceTimeoutMs,
    heartbeatInterval: tuning.heartbeatIntervalMs,
    maxWaitTimeInMs: tuning.maxWaitTimeMs,
    maxBytesPerPartition: tuning.maxBytesPerPartition,
    maxBytes: 2 * tuning.maxBytesPerPartition,
    minBytes: 1,
    allowAutoTopicCreation: false,
    retry: { initialRetryTime: 100, maxRetryTime: 5_000, retries: 8 },
  };
  return kafka.consumer(config);
}
