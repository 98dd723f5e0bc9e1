import { describe, it } from 'vitest';

/**
 * External services for integration suites come from the environment
 * (`eval "$(npm run --silent services:up)"` sets both). Without them a suite is skipped on a
 * developer's machine, with the reason in its name, and fails under CI=true: CI never passes
 * by not running a suite.
 */
export interface ExternalServices {
  readonly kafkaBrokers: readonly string[];
  readonly redisUrl: string;
}

type ServiceName = 'KAFKA_BROKERS' | 'REDIS_URL';

const HOW_TO = 'eval "$(npm run --silent services:up)"';

function describeWith<T>(variable: ServiceName, parse: (value: string) => T, name: string, body: (value: T) => void): void {
  const raw = process.env[variable]?.trim();
  if (raw !== undefined && raw !== '') {
    describe(name, () => body(parse(raw)));
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it(`requires ${variable}`, () => {
        throw new Error(`${variable} is not set; CI must start the services (${HOW_TO}) before the tests`);
      });
    });
    return;
  }
  describe.skip(`${name} (skipped: ${variable} not set; run ${HOW_TO})`, () => body(parse('')));
}

export const parseBrokers = (value: string): string[] =>
  value
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');

export function describeWithKafka(name: string, body: (brokers: readonly string[]) => void): void {
  describeWith('KAFKA_BROKERS', parseBrokers, name, body);
}

export function describeWithRedis(name: string, body: (redisUrl: string) => void): void {
  describeWith('REDIS_URL', (value) => value, name, body);
}

export function describeWithServices(name: string, body: (services: ExternalServices) => void): void {
  describeWithKafka(name, (kafkaBrokers) => {
    describeWithRedis('with Redis', (redisUrl) => body({ kafkaBrokers, redisUrl }));
  });
}
