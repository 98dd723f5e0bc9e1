import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, FluxError } from '@flux/domain';
import { parseClusterSettings, type LogRecord } from '@flux/core';
import { deferred, within } from '@flux/core/testing';
import { clusterLogOptions, ensureKafkaTopic, KafkaEventLog } from '../src/index.js';
import { BROKER_USER, missingBrokerTools, startSecureBroker, unsecuredOauthToken, type SecureBroker } from './secure-broker.js';
import { CapturedLogs, uniqueTopic } from './support.js';

const BROKER_START_MS = 100_000;
const missing = missingBrokerTools();

/** Opens the log exactly as a reducer does: from its environment, through the config parser. */
function openFromEnv(env: Record<string, string>, topic: string, partitions = 2): Promise<KafkaEventLog> {
  const settings = parseClusterSettings('reducer', {
    REDIS_URL: 'redis://127.0.0.1:6379',
    FLUX_KAFKA_TOPIC: topic,
    FLUX_PARTITIONS: String(partitions),
    ...env,
  });
  return KafkaEventLog.open({ ...clusterLogOptions(settings), clientId: 'flux-security-test', logger: new CapturedLogs() });
}

/** Appends one record and consumes it back through a subscription. */
async function roundTrip(log: KafkaEventLog): Promise<void> {
  const [position] = await log.append([{ partition: 1, key: 'demo/sensor-01', value: '{"t":22.5}' }]);
  const received = deferred<readonly LogRecord[]>();
  const subscription = log.subscribe(1, position!.offset, async (records) => received.resolve(records));
  try {
    const records = await within(received.promise, 'the appended record to come back', 20_000);
    expect(records[0]).toMatchObject({ partition: 1, offset: position!.offset, key: 'demo/sensor-01', value: '{"t":22.5}' });
  } finally {
    await subscription.stop();
  }
}

async function openError(open: () => Promise<KafkaEventLog>): Promise<FluxError> {
  const error = await open().then(
    async (log) => {
      await log.close();
      return new Error('the log opened');
    },
    (e: unknown) => e,
  );
  if (!(error instanceof FluxError)) throw error;
  return error;
}

const suite = missing.length === 0 || process.env.CI === 'true' ? describe : describe.skip;

suite(`Kafka over TLS and SASL (a broker of its own)${missing.length === 0 ? '' : ` (skipped: ${missing.join(', ')} not found)`}`, () => {
  let broker: SecureBroker;
  const user = { FLUX_KAFKA_SASL_USERNAME: BROKER_USER.username, FLUX_KAFKA_SASL_PASSWORD: BROKER_USER.password };

  beforeAll(async () => {
    if (missing.length > 0) throw new Error(`${missing.join(', ')} must be installed: this suite starts a Kafka broker with TLS`);
    broker = await startSecureBroker(BROKER_START_MS - 10_000);
  }, BROKER_START_MS);
  afterAll(async () => {
    await broker?.stop();
  }, 30_000);

  it('produces and consumes over mutual TLS with the CA, client certificate and key from files', async () => {
    const { caFile, clientCertFile, clientKeyFile } = broker.pki;
    const log = await openFromEnv(
      { KAFKA_BROKERS: broker.ssl, FLUX_KAFKA_TLS_CA_FILE: caFile, FLUX_KAFKA_TLS_CERT_FILE: clientCertFile, FLUX_KAFKA_TLS_KEY_FILE: clientKeyFile },
      uniqueTopic('mtls'),
    );
    try {
      await roundTrip(log);
    } finally {
      await log.close();
    }
  }, 60_000);

  it.each([
    ['SCRAM-SHA-256 over TLS', 'scram-sha-256', true],
    ['SCRAM-SHA-512 over TLS', 'scram-sha-512', true],
    ['PLAIN over TLS', 'plain', true],
    ['SCRAM-SHA-512 without TLS', 'scram-sha-512', false],
  ] as const)(
    'produces and consumes with SASL %s',
    async (_name, mechanism, tls) => {
      const env: Record<string, string> = tls
        ? { KAFKA_BROKERS: broker.saslSsl, FLUX_KAFKA_TLS: 'true', FLUX_KAFKA_TLS_CA_FILE: broker.pki.caFile }
        : { KAFKA_BROKERS: broker.saslPlaintext };
      const log = await openFromEnv({ ...env, ...user, FLUX_KAFKA_SASL_MECHANISM: mechanism }, uniqueTopic(mechanism));
      try {
        await roundTrip(log);
      } finally {
        await log.close();
      }
    },
    60_000,
  );

  it('produces and consumes with SASL OAUTHBEARER, reading the token from its file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flux-oauth-'));
    try {
      const tokenFile = join(dir, 'token');
      await writeFile(tokenFile, `${unsecuredOauthToken(BROKER_USER.username)}\n`);
      const env = {
        KAFKA_BROKERS: broker.saslPlaintext,
        FLUX_KAFKA_SASL_MECHANISM: 'oauthbearer',
        FLUX_KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: tokenFile,
      };
      const log = await openFromEnv(env, uniqueTopic('oauthbearer'));
      try {
        await roundTrip(log);
      } finally {
        await log.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('fails start-up with a clear error when Kafka refuses the SASL password', async () => {
    const error = await openError(() =>
      openFromEnv(
        { KAFKA_BROKERS: broker.saslPlaintext, ...user, FLUX_KAFKA_SASL_MECHANISM: 'scram-sha-256', FLUX_KAFKA_SASL_PASSWORD: 'wrong' },
        uniqueTopic('wrong-password'),
      ),
    );
    expect(error.code).toBe(ErrorCode.LogUnavailable);
    expect(error.message).toMatch(/Kafka refused the SASL SCRAM-SHA-256 authentication of user "flux-app" \(check FLUX_KAFKA_SASL_\*\)/);
  }, 60_000);

  it('with topic creation off, fails start-up naming a missing topic, or a partition count other than FLUX_PARTITIONS', async () => {
    const env = { KAFKA_BROKERS: broker.saslPlaintext, ...user, FLUX_KAFKA_SASL_MECHANISM: 'plain', FLUX_KAFKA_CREATE_TOPIC: 'false' };
    const topic = uniqueTopic('no-create');
    const missingTopic = await openError(() => openFromEnv(env, topic, 3));
    expect(missingTopic.code).toBe(ErrorCode.NotConfigured);
    expect(missingTopic.message).toBe(
      `the Kafka topic ${topic} does not exist and topic creation is off (FLUX_KAFKA_CREATE_TOPIC=false): create it with 3 partitions (FLUX_PARTITIONS), or allow creation`,
    );

    // An operator creates it, with another count than the processes expect.
    await ensureKafkaTopic({ brokers: [broker.plaintext], topic, partitionCount: 4, logger: new CapturedLogs() });
    const wrongCount = await openError(() => openFromEnv(env, topic, 3));
    expect(wrongCount.code).toBe(ErrorCode.NotConfigured);
    expect(wrongCount.message).toMatch(new RegExp(`^the Kafka topic ${topic} has 4 partitions but FLUX_PARTITIONS is 3`));

    const log = await openFromEnv(env, topic, 4);
    try {
      expect(log.partitionCount).toBe(4);
      await roundTrip(log);
    } finally {
      await log.close();
    }
  }, 60_000);

  it('fails start-up with a TLS error when the brokers are not signed by the given CA', async () => {
    // The client's certificate is no CA: nothing the broker presents verifies against it.
    const error = await openError(() =>
      openFromEnv(
        { KAFKA_BROKERS: broker.saslSsl, FLUX_KAFKA_TLS_CA_FILE: broker.pki.clientCertFile, ...user, FLUX_KAFKA_SASL_MECHANISM: 'plain' },
        uniqueTopic('bad-ca'),
      ),
    );
    expect(error.code).toBe(ErrorCode.LogUnavailable);
    expect(error.message).toMatch(/TLS to Kafka failed/);
  }, 90_000);
});
