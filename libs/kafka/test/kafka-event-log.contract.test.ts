import { describeEventLogContract, describeWithKafka } from '@flux/core/testing';
import { KafkaEventLog } from '../src/index.js';
import { CapturedLogs, freshTopic } from './support.js';

describeWithKafka('Kafka', (brokers) => {
  describeEventLogContract('KafkaEventLog', async ({ partitionCount }) => {
    // A fresh topic per test, created with the partition count the suite wants; a reopen is a
    // new KafkaEventLog on the same topic (it adopts the topic's count: none is passed).
    const { topic, dispose } = await freshTopic(brokers, 'contract', partitionCount);
    const logger = new CapturedLogs();
    return {
      open: () => KafkaEventLog.open({ brokers, topic, logger, clientId: 'flux-contract-test' }),
      dispose,
    };
  });
});
