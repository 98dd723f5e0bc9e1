import type { ClusterProcessSettings } from '@flux/core';
import type { KafkaEventLogOptions } from './kafka-event-log.js';

/**
 * The log options every process of the distributed topology derives from its settings: where
 * the brokers are, how to reach them (TLS, SASL) and which topic to open or create.
 */
export function clusterLogOptions(
  settings: ClusterProcessSettings,
): Pick<KafkaEventLogOptions, 'brokers' | 'topic' | 'partitionCount' | 'replicationFactor' | 'createTopic' | 'security'> {
  const { cluster } = settings;
  return {
    brokers: cluster.kafkaBrokers,
    topic: cluster.kafkaTopic,
    partitionCount: settings.partitionCount,
    replicationFactor: cluster.kafkaReplicationFactor,
    createTopic: cluster.kafkaCreateTopic,
    security: cluster.kafkaSecurity,
  };
}
