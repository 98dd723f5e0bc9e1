import { randomBytes } from 'node:crypto';
import { deleteKafkaTopics, ensureKafkaTopic, type KafkaLogSink } from '../src/index.js';

/** A topic name nobody else uses on a shared broker. */
export const uniqueTopic = (label: string): string => `flux-test-${label}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;

/**
 * The adapter's (and kafkajs') warnings and errors, collected instead of printed so tests can
 * assert on them; FLUX_TEST_KAFKA_LOGS=1 also prints them as they come.
 */
export class CapturedLogs implements KafkaLogSink {
  readonly entries: { level: string; msg: string; fields: object }[] = [];
  private readonly live = process.env.FLUX_TEST_KAFKA_LOGS === '1';
  private push(level: string, fields: object, msg?: string): void {
    const entry = { level, msg: String(msg), fields };
    this.entries.push(entry);
    if (this.live) process.stderr.write(`[kafka ${level}] ${entry.msg} ${JSON.stringify(entry.fields)}\n`);
  }
  readonly error = (fields: object, msg?: string): void => this.push('error', fields, msg);
  readonly warn = (fields: object, msg?: string): void => this.push('warn', fields, msg);
  readonly info = (fields: object, msg?: string): void => this.push('info', fields, msg);
  readonly debug = (fields: object, msg?: string): void => this.push('debug', fields, msg);
}

/** Creates a fresh topic and returns it with a disposer that deletes it. */
export async function freshTopic(
  brokers: readonly string[],
  label: string,
  partitionCount: number,
): Promise<{ topic: string; dispose: () => Promise<void> }> {
  const topic = uniqueTopic(label);
  const logger = new CapturedLogs();
  await ensureKafkaTopic({ brokers, topic, partitionCount, logger });
  return { topic, dispose: () => deleteKafkaTopics({ brokers, topics: [topic], logger }) };
}
