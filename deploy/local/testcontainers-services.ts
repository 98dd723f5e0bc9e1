import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { freePort } from '@flux/core/tooling';
import { dockerEndpoint } from './test-services.js';

/** Kafka and Redis in containers, for a test run on a machine with Docker and no services of its own. */
export interface ContainerServices {
  readonly env: { readonly KAFKA_BROKERS: string; readonly REDIS_URL: string };
  stop(): Promise<void>;
}

/** Whether a Docker engine answers GET /_ping at DOCKER_HOST (tcp, plain HTTP) or the default socket. */
export async function dockerAnswers(env: NodeJS.ProcessEnv = process.env, timeoutMs = 2_000): Promise<boolean> {
  const endpoint = dockerEndpoint(env, existsSync);
  if (endpoint === undefined) return false;
  const target = endpoint.startsWith('unix://')
    ? { socketPath: endpoint.slice('unix://'.length) }
    : (() => {
        const url = new URL(endpoint.replace(/^tcp:/, 'http:'));
        return { host: url.hostname, port: Number(url.port || 2375) };
      })();
  return new Promise((resolve) => {
    const req = request({ ...target, path: '/_ping', method: 'GET', timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

/**
 * Starts Redis 7 (AOF on) and a single-node KRaft Kafka 3.9.1 (the version services.sh runs)
 * with testcontainers. Kafka advertises the port it is published on, so the mapping is fixed.
 */
export async function startContainerServices(): Promise<ContainerServices> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const redis = await new GenericContainer('redis:7.4')
    .withCommand(['redis-server', '--appendonly', 'yes', '--save', ''])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
  try {
    const port = await freePort();
    const host = redis.getHost();
    const kafka = await new GenericContainer('apache/kafka:3.9.1')
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: `PLAINTEXT://:${port},CONTROLLER://:9093`,
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      })
      .withExposedPorts({ container: port, host: port })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start();
    return {
      env: { KAFKA_BROKERS: `${host}:${port}`, REDIS_URL: `redis://${host}:${redis.getMappedPort(6379)}` },
      stop: async () => {
        await Promise.allSettled([kafka.stop(), redis.stop()]);
      },
    };
  } catch (error) {
    await redis.stop();
    throw error;
  }
}
