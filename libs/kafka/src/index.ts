export { KafkaEventLog, DEFAULT_MAX_BATCH, PRODUCER_SETTINGS } from './kafka-event-log.js';
export type { KafkaEventLogOptions, KafkaEventLogHooks, KafkaRequestInfo, KafkaSubscribeOptions } from './kafka-event-log.js';
export { ensureKafkaTopic, deleteKafkaTopics } from './kafka-topic.js';
export type { KafkaTopicSpec, KafkaTopicInfo } from './kafka-topic.js';
export { DEFAULT_APPEND_LIMITS } from './append-batcher.js';
export type { AppendBatcherLimits, SendStats } from './append-batcher.js';
export { DEFAULT_CONSUMER_TUNING } from './kafka-consumer-config.js';
export type { ConsumerTuning } from './kafka-consumer-config.js';
export type { KafkaClientOptions, KafkaLogSink, KafkaLogLevel } from './kafka-client.js';
