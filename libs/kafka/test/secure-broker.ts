import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, makeTestPki, missingCommands, writePemKeystore, type TestPki } from '@flux/core/tooling';

const run = promisify(execFile);
const SERVICES_SH = fileURLToPath(new URL('../../../deploy/local/services.sh', import.meta.url));

/** Users the broker knows: PLAIN from its JAAS config, SCRAM (both hashes) from `format --add-scram`. */
export const BROKER_USER = { username: 'flux-app', password: 'flux-app-secret' } as const;

/** A single KRaft Kafka of its own with one listener per security protocol. */
export interface SecureBroker {
  readonly pki: TestPki;
  /** TLS with client certificates required (mTLS). */
  readonly ssl: string;
  /** SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) over TLS. */
  readonly saslSsl: string;
  readonly saslPlaintext: string;
  /** Unauthenticated, for the test's own admin work. */
  readonly plaintext: string;
  stop(): Promise<void>;
}

/** Tools the broker needs; missing ones are named (a test fails on them under CI=true). */
export const missingBrokerTools = (): string[] => missingCommands(['java', 'openssl', 'bash']);

function serverProperties(
  dir: string,
  keystore: string,
  caFile: string,
  ports: Record<'plain' | 'ssl' | 'saslSsl' | 'saslPlain' | 'controller', number>,
): string {
  const { username, password } = BROKER_USER;
  const plainJaas = `org.apache.kafka.common.security.plain.PlainLoginModule required user_${username}="${password}";`;
  const scramJaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  const jaas = ['sasl_ssl', 'sasl_plaintext'].flatMap((listener) => [
    `listener.name.${listener}.plain.sasl.jaas.config=${plainJaas}`,
    `listener.name.${listener}.scram-sha-256.sasl.jaas.config=${scramJaas}`,
    `listener.name.${listener}.scram-sha-512.sasl.jaas.config=${scramJaas}`,
    // Kafka's built-in validator accepts unsigned (alg "none") tokens: enough to test the client side.
    `listener.name.${listener}.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker";`,
  ]);
  const at = (port: number) => `127.0.0.1:${port}`;
  const listeners = `PLAINTEXT://${at(ports.plain)},SSL://${at(ports.ssl)},SASL_SSL://${at(ports.saslSsl)},SASL_PLAINTEXT://${at(ports.saslPlain)}`;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${at(ports.controller)}`,
    `listeners=${listeners},CONTROLLER://${at(ports.controller)}`,
    `advertised.listeners=${listeners}`,
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${join(dir, 'data')}`,
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${keystore}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${caFile}`,
    'listener.name.ssl.ssl.client.auth=required',
    ...jaas,
    '',
  ].join('\n');
}

/**
 * Starts a Kafka 3.9 broker of its own (the jars deploy/local/services.sh caches) with a fresh
 * CA, SCRAM users formatted into its metadata, and one listener per security protocol, all on
 * free loopback ports. Separate from the shared services, which it never touches.
 */
export async function startSecureBroker(timeoutMs = 90_000): Promise<SecureBroker> {
  const dir = await mkdtemp(join(tmpdir(), 'flux-secure-kafka-'));
  let child: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const libs = (await run('bash', [SERVICES_SH, 'kafka-libs'], { maxBuffer: 1 << 20 })).stdout.trim();
    const pki = await makeTestPki(dir);
    const keystore = join(dir, 'broker-keystore.pem');
    await writePemKeystore(pki, keystore);
    // freePort never gives this process one port twice.
    const ports = {
      plain: await freePort(),
      ssl: await freePort(),
      saslSsl: await freePort(),
      saslPlain: await freePort(),
      controller: await freePort(),
    };
    const config = join(dir, 'server.properties');
    await writeFile(config, serverProperties(dir, keystore, pki.caFile, ports));
    await writeFile(
      join(dir, 'log4j.properties'),
      'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n\n',
    );
    const java = ['-cp', `${libs}/*`, `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`];
    const clusterId = randomBytes(16).toString('base64url').replace(/^-/, 'A');
    const scram = (hash: string) => ['--add-scram', `SCRAM-SHA-${hash}=[name=${BROKER_USER.username},password=${BROKER_USER.password}]`];
    await run('java', [...java, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', config, ...scram('256'), ...scram('512')]);

    const output = createWriteStream(join(dir, 'kafka.out'));
    child = spawn('java', ['-Xms128m', '-Xmx384m', '-XX:+UseSerialGC', ...java, 'kafka.Kafka', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(output);
    child.stderr?.pipe(output);
    await waitUntilReady(`127.0.0.1:${ports.plain}`, child, join(dir, 'kafka.out'), timeoutMs);
    const at = (p: number) => `127.0.0.1:${p}`;
    return { pki, ssl: at(ports.ssl), saslSsl: at(ports.saslSsl), saslPlaintext: at(ports.saslPlain), plaintext: at(ports.plain), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitUntilReady(broker: string, child: ChildProcess, outputFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const admin = new Kafka({ brokers: [broker], clientId: 'flux-secure-broker-probe', logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`the test Kafka broker exited (${child.exitCode}):\n${(await readFile(outputFile, 'utf8').catch(() => '')).slice(-4000)}`);
    }
    try {
      await admin.connect();
      await admin.listTopics();
      await admin.disconnect();
      return;
    } catch {
      await admin.disconnect().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`the test Kafka broker on ${broker} was not ready within ${timeoutMs} ms`);
    await delay(250);
  }
}

/** An unsigned token (alg "none") for `subject`, valid for an hour: what the test broker accepts. */
export function unsecuredOauthToken(subject: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none' })}.${part({ sub: subject, iat: now, exp: now + 3600 })}.`;
}
