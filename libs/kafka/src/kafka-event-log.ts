import { randomUUID } from 'node:crypto';
import { Partitioners, type Admin, type Kafka, type Producer, type ProducerConfig } from 'kafkajs';
import { ErrorCode, FluxError, type LogPosition } from '@flux/domain';
import type { AppendRecord, EventLog, LogBatchHandler, LogRecord, LogSubscription } from '@flux/core';
import { AppendBatcher, DEFAULT_APPEND_LIMITS, appendFailure, type AppendBatcherLimits, type SendStats } from './append-batcher.js';
import {
  createKafkaClient,
  defaultKafkaLogSink,
  describeConnectionFailure,
  errorMessage,
  retryWhileRetriable,
  type KafkaClientOptions,
  type KafkaLogSink,
} from './kafka-client.js';
import { DEFAULT_CONSUMER_TUNING, type ConsumerTuning } from './kafka-consumer-config.js';
import { KafkaPartitionReader } from './kafka-partition-reader.js';
import { KafkaSubscription } from './kafka-subscription.js';
import { ensureTopic, type KafkaTopicSpec } from './kafka-topic.js';

/** Records per batch a subscription delivers when the subscriber sets no maxBatch. */
export const DEFAULT_MAX_BATCH = 1000;

/** A request the adapter's producer sent (for instrumentation and tests). */
export interface KafkaRequestInfo {
  readonly client: 'producer';
  /** Kafka protocol API, e.g. 'Produce', 'Fetch', 'InitProducerId'. */
  readonly apiName: string;
  readonly durationMs: number;
  readonly sizeBytes: number;
}

export interface KafkaEventLogHooks {
  /** After every produce request the append coalescer made. */
  onSend?(stats: SendStats): void;
  /** After every request of the producer (kafkajs request instrumentation). */
  onProducerRequest?(request: KafkaRequestInfo): void;
}

export interface KafkaEventLogOptions extends KafkaClientOptions, KafkaTopicSpec {
  /** Prefix of the consumer group ids this log creates; default `flux-<topic>`. */
  readonly groupPrefix?: string;
  /** Create the topic when it is missing (with `partitionCount`); default true. */
  readonly createTopic?: boolean;
  /** Clock for record timestamps (epoch ms): when the gateway produced the record. */
  readonly now?: () => number;
  readonly append?: Partial<AppendBatcherLimits>;
  readonly consumer?: Partial<ConsumerTuning>;
  readonly hooks?: KafkaEventLogHooks;
}

export interface KafkaSubscribeOptions {
  readonly maxBatch?: number;
  /**
   * The subscription's consumer group id; default `<groupPrefix>-p<partition>-<random>`. Pass a
   * stable id (e.g. per reducer shard and partition) to make the group recognisable in Kafka's
   * tooling; it must not be shared by two live subscriptions.
   */
  readonly groupId?: string;
}

/**
 * The producer settings appends rely on: acks from every in-sync replica (invariant 3) and an
 * idempotent producer, so a retried request never stores an event twice. kafkajs keeps the
 * idempotent sequence numbers right only with one request in flight per broker.
 */
export const PRODUCER_SETTINGS = {
  idempotent: true,
  maxInFlightRequests: 1,
  acks: -1,
} as const;

/**
 * EventLog over a Kafka topic (kafkajs). Appends are coalesced into few idempotent,
 * acks=all produce requests with an explicit partition per record; subscriptions are consumers
 * in groups of their own with an explicit assignment (kafkajs cannot assign partitions
 * manually) that never commit offsets: positions live in the state store.
 */
export class KafkaEventLog implements EventLog {
  private readonly batcher: AppendBatcher;
  private readonly subscriptions = new Set<KafkaSubscription>();
  private readonly tuning: ConsumerTuning;
  private readonly groupPrefix: string;
  private readonly now: () => number;
  private readonly appendTimeoutMs: number;
  private reader: KafkaPartitionReader | undefined;
  private closing: Promise<void> | undefined;
  private readonly hooks: KafkaEventLogHooks | undefined;
  /** Set while a replacement producer connects (see replaceProducer). */
  private producerConnecting: Promise<void> | undefined;

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private producer: Producer,
    readonly topic: string,
    readonly partitionCount: number,
    private readonly logger: KafkaLogSink,
    options: KafkaEventLogOptions,
  ) {
    this.tuning = { ...DEFAULT_CONSUMER_TUNING, ...options.consumer };
    this.groupPrefix = options.groupPrefix ?? `flux-${topic}`;
    this.now = options.now ?? Date.now;
    const limits = { ...DEFAULT_APPEND_LIMITS, ...options.append };
    this.appendTimeoutMs = limits.appendTimeoutMs;
    this.batcher = new AppendBatcher((messages) => this.produce(messages), limits, appendFailure(topic), options.hooks?.onSend);
    this.hooks = options.hooks;
  }

  /**
   * Connects, makes sure the topic exists (creating it with `partitionCount` partitions when
   * it is missing and `createTopic` is not false; an existing topic's count wins, unless
   * creation is off: then a missing topic or another count fails, see openTopic) and starts
   * the idempotent producer.
   */
  static async open(options: KafkaEventLogOptions): Promise<KafkaEventLog> {
    const logger = options.logger ?? defaultKafkaLogSink;
    const kafka = createKafkaClient({ ...options, logger });
    const admin = kafka.admin();
    const producer = createProducer(kafka, options.hooks);
    try {
      await admin.connect();
      const partitionCount = await openTopic(admin, options, logger);
      await producer.connect();
      return new KafkaEventLog(kafka, admin, producer, options.topic, partitionCount, logger, options);
    } catch (error) {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      if (error instanceof FluxError || error instanceof RangeError) throw error;
      const reason = describeConnectionFailure(error, options.security);
      throw new FluxError(ErrorCode.LogUnavailable, `cannot open the Kafka log on topic ${options.topic}: ${reason}`, { cause: error });
    }
  }

  /** Records accepted by append() and not yet acknowledged by Kafka. */
  get pendingAppends(): number {
    return this.batcher.pendingRecords;
  }

  append(records: readonly AppendRecord[]): Promise<readonly LogPosition[]> {
    try {
      this.assertOpen();
      // Validate the whole call first: a bad record fails the call before anything is sent.
      for (const record of records) {
        this.assertPartition(record.partition);
        if (typeof record.key !== 'string' || typeof record.value !== 'string') {
          throw new TypeError('records need a string key and a string value');
        }
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.batcher.append(records, this.now());
  }

  async read(partition: number, fromOffset: number, maxRecords: number): Promise<readonly LogRecord[]> {
    this.assertOpen();
    this.assertPartition(partition);
    assertOffset(fromOffset, 'fromOffset');
    if (!Number.isInteger(maxRecords) || maxRecords < 0) throw new RangeError(`maxRecords must be a non-negative integer, got ${maxRecords}`);
    const { low, high } = await this.watermarks(partition);
    if (fromOffset < low) {
      throw new FluxError(
        ErrorCode.Internal,
        `partition ${partition} of ${this.topic} starts at offset ${low} (older records were deleted); offset ${fromOffset} is no longer available`,
      );
    }
    const want = Math.min(maxRecords, high - fromOffset);
    if (want <= 0) return [];
    this.reader ??= new KafkaPartitionReader(
      this.kafka,
      this.topic,
      this.partitionCount,
      `${this.groupPrefix}-reader-${randomUUID()}`,
      this.tuning,
      this.logger,
    );
    return this.reader.read(partition, fromOffset, want);
  }

  async endOffset(partition: number): Promise<number> {
    this.assertOpen();
    this.assertPartition(partition);
    return (await this.watermarks(partition)).high;
  }

  subscribe(partition: number, fromOffset: number, handler: LogBatchHandler, options: KafkaSubscribeOptions = {}): LogSubscription {
    this.assertOpen();
    this.assertPartition(partition);
    assertOffset(fromOffset, 'fromOffset');
    const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    const subscription = new KafkaSubscription({
      kafka: this.kafka,
      topic: this.topic,
      partition,
      fromOffset,
      handler,
      maxBatch,
      groupId: options.groupId ?? `${this.groupPrefix}-p${partition}-${randomUUID()}`,
      tuning: this.tuning,
      logger: this.logger,
    });
    this.subscriptions.add(subscription);
    void subscription.done.catch(() => undefined).finally(() => this.subscriptions.delete(subscription));
    return subscription;
  }

  /**
   * Stops every subscription (after its batch in flight), waits for appends already accepted
   * to be answered, and disconnects the producer, the reader and the admin client.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.subscriptions].map((s) => s.stop()));
      await this.reader?.close();
      // Accepted appends are answered (acknowledged, failed or timed out) before disconnecting.
      await Promise.race([this.batcher.drained(), sleep(this.appendTimeoutMs)]);
      const results = await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
      for (const result of results) {
        if (result.status === 'rejected') {
          this.logger.warn({ module: 'kafka-event-log', topic: this.topic, err: errorMessage(result.reason) }, 'disconnecting from Kafka failed');
        }
      }
    })();
    return this.closing;
  }

  private async produce(messages: readonly { partition: number; key: Buffer; value: Buffer; timestamp: string }[]): Promise<Map<number, number>> {
    const producer = this.producer;
    let metadata;
    try {
      await this.producerConnecting;
      metadata = await producer.send({
        topic: this.topic,
        acks: PRODUCER_SETTINGS.acks,
        messages: messages.map(({ partition, key, value, timestamp }) => ({ partition, key, value, timestamp })),
      });
    } catch (error) {
      this.replaceProducer(producer, error);
      throw error;
    }
    const bases = new Map<number, number>();
    for (const entry of metadata) {
      if (entry.topicName !== this.topic || entry.baseOffset === undefined) continue;
      bases.set(entry.partition, Number(entry.baseOffset));
    }
    return bases;
  }

  /**
   * A producer whose send failed is not used again. The request may have been stored although
   * no answer came (the broker died, or kafkajs gave up reconnecting), and kafkajs hands its
   * sequence numbers to the next request: the broker would take that one for a duplicate of
   * the stored request and acknowledge records it never stored, or refuse it and every later
   * one as out of order. A new producer has a new producer id, so nothing is taken for
   * anything else. Only one request is in flight (AppendBatcher), so none is using it.
   */
  private replaceProducer(failed: Producer, error: unknown): void {
    if (this.producer !== failed || this.closing !== undefined) return;
    this.logger.warn(
      { component: 'kafka-event-log', topic: this.topic, err: errorMessage(error) },
      'a produce request failed; appending through a new producer',
    );
    this.producer = createProducer(this.kafka, this.hooks);
    const connecting = this.producer.connect();
    this.producerConnecting = connecting;
    // A failed connection fails the next produce, which replaces this producer in turn.
    connecting.then(
      () => {
        if (this.producerConnecting === connecting) this.producerConnecting = undefined;
      },
      () => undefined,
    );
    failed.disconnect().catch(() => undefined);
  }

  private async watermarks(partition: number): Promise<{ low: number; high: number }> {
    let offsets;
    try {
      // A topic created moments ago may have no leader yet (NOT_LEADER_FOR_PARTITION): kafkajs
      // marks that retriable but does not retry ListOffsets itself.
      offsets = await retryWhileRetriable(() => this.admin.fetchTopicOffsets(this.topic), WATERMARK_ATTEMPTS, 100);
    } catch (error) {
      throw new FluxError(ErrorCode.LogUnavailable, `cannot read the offsets of topic ${this.topic}: ${errorMessage(error)}`, { cause: error });
    }
    const entry = offsets.find((o) => o.partition === partition);
    if (entry === undefined) throw new FluxError(ErrorCode.LogUnavailable, `topic ${this.topic} has no partition ${partition}`);
    return { low: Number(entry.low), high: Number(entry.high) };
  }

  private assertPartition(partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) {
      throw new RangeError(`partition must be an integer from 0 to ${this.partitionCount - 1}, got ${partition}`);
    }
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new FluxError(ErrorCode.LogUnavailable, 'the log is closed');
  }
}

const PRODUCER_CONFIG: ProducerConfig = {
  idempotent: PRODUCER_SETTINGS.idempotent,
  maxInFlightRequests: PRODUCER_SETTINGS.maxInFlightRequests,
  allowAutoTopicCreation: false,
  // An idempotent producer must retry without limit: giving up on a request that may have
  // landed would let the next one reuse its sequence numbers. Callers are answered by the
  // append timeout instead; the request itself keeps retrying (and should kafkajs give up all
  // the same, the producer is replaced: see KafkaEventLog.replaceProducer).
  retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5_000 },
  // Every record carries its partition; this only silences kafkajs' partitioner notice.
  createPartitioner: Partitioners.DefaultPartitioner,
};

/** The adapter's idempotent producer, reporting its requests to `hooks.onProducerRequest`. */
function createProducer(kafka: Kafka, hooks: KafkaEventLogHooks | undefined): Producer {
  const producer = kafka.producer(PRODUCER_CONFIG);
  const onProducerRequest = hooks?.onProducerRequest;
  if (onProducerRequest !== undefined) {
    producer.on(producer.events.REQUEST, ({ payload }) => {
      try {
        onProducerRequest({ client: 'producer', apiName: payload.apiName, durationMs: payload.duration, sizeBytes: payload.size });
      } catch {
        // Instrumentation must not break the producer.
      }
    });
  }
  return producer;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** Attempts at reading a topic's offsets while Kafka answers with a retriable error (about 4.5 s in all). */
const WATERMARK_ATTEMPTS = 10;

function assertOffset(offset: number, name: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`${name} must be a non-negative integer, got ${offset}`);
}

/**
 * Makes sure the topic exists and returns its partition count. With creation on, a missing
 * topic is created and an existing topic's count wins (with a warning). With creation off
 * (clusters where the application may not create topics) the topic must exist with exactly
 * the requested count, since readers route by it: anything else fails start-up, naming it.
 */
async function openTopic(admin: Admin, options: KafkaEventLogOptions, logger: KafkaLogSink): Promise<number> {
  const { topic, partitionCount: requested } = options;
  const spec = {
    topic,
    ...(options.replicationFactor === undefined ? {} : { replicationFactor: options.replicationFactor }),
    ...(options.config === undefined ? {} : { config: options.config }),
  };
  if (options.createTopic === false) {
    const wanted = requested === undefined ? '' : ` with ${requested} partitions (FLUX_PARTITIONS)`;
    if (!(await admin.listTopics()).includes(topic)) {
      throw new FluxError(
        ErrorCode.NotConfigured,
        `the Kafka topic ${topic} does not exist and topic creation is off (FLUX_KAFKA_CREATE_TOPIC=false): create it${wanted}, or allow creation`,
      );
    }
    const { partitionCount } = await ensureTopic(admin, spec);
    if (requested !== undefined && requested !== partitionCount) {
      throw new FluxError(
        ErrorCode.NotConfigured,
        `the Kafka topic ${topic} has ${partitionCount} partitions but FLUX_PARTITIONS is ${requested}: set FLUX_PARTITIONS=${partitionCount} on every process, or use a topic${wanted}`,
      );
    }
    return partitionCount;
  }
  const { partitionCount } = await ensureTopic(admin, { ...spec, ...(requested === undefined ? {} : { partitionCount: requested }) });
  if (requested !== undefined && requested !== partitionCount) {
    logger.warn(
      { module: 'kafka-event-log', topic, requested, existing: partitionCount },
      'the Kafka topic already exists with another partition count; using the existing one',
    );
  }
  return partitionCount;
}
