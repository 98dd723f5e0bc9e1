/**
 * Where the integration suites get Kafka and Redis from, decided once per test run (vitest's
 * global set-up) from the environment and whether a Docker engine answers.
 */
export type TestServiceSource =
  /** KAFKA_BROKERS and REDIS_URL are set (CI, or `eval "$(npm run --silent services:up)"`). */
  | 'environment'
  /** Both unset and a Docker engine reachable: containers started with testcontainers. */
  | 'testcontainers'
  /** Neither: the suites that need the services are skipped (or fail under CI=true), as they say. */
  | 'none';

export interface TestServiceChoice {
  readonly source: TestServiceSource;
  /** Why, in one line the set-up prints. */
  readonly reason: string;
}

const set = (value: string | undefined): boolean => value !== undefined && value.trim() !== '';

/**
 * The choice, as a pure function of the environment and the Docker probe's answer.
 * FLUX_TEST_SERVICES=environment|testcontainers|none forces one (testcontainers without a
 * reachable engine is refused rather than silently skipped).
 */
export function chooseTestServices(env: Readonly<Record<string, string | undefined>>, dockerReachable: boolean): TestServiceChoice {
  const forced = env.FLUX_TEST_SERVICES?.trim();
  const kafka = set(env.KAFKA_BROKERS);
  const redis = set(env.REDIS_URL);
  if (forced !== undefined && forced !== '') {
    if (forced === 'testcontainers' && !dockerReachable) {
      throw new Error('FLUX_TEST_SERVICES=testcontainers, but no Docker engine answers (DOCKER_HOST or /var/run/docker.sock)');
    }
    if (forced === 'environment' || forced === 'testcontainers' || forced === 'none')
      return { source: forced, reason: `FLUX_TEST_SERVICES=${forced}` };
    throw new Error(`FLUX_TEST_SERVICES must be environment, testcontainers or none, got "${forced}"`);
  }
  if (kafka || redis) {
    // One of them set is still the environment's choice: the suites needing the other say so.
    return { source: 'environment', reason: `${[kafka ? 'KAFKA_BROKERS' : '', redis ? 'REDIS_URL' : ''].filter(Boolean).join(' and ')} set` };
  }
  if (dockerReachable) return { source: 'testcontainers', reason: 'KAFKA_BROKERS / REDIS_URL unset and a Docker engine answers' };
  return { source: 'none', reason: 'KAFKA_BROKERS / REDIS_URL unset and no Docker engine: run eval "$(npm run --silent services:up)"' };
}

/**
 * Where a Docker engine would be: DOCKER_HOST, else the default socket when it exists
 * (`socketExists` is asked, so this stays pure).
 */
export function dockerEndpoint(env: Readonly<Record<string, string | undefined>>, socketExists: (path: string) => boolean): string | undefined {
  if (set(env.DOCKER_HOST)) return env.DOCKER_HOST!.trim();
  const socket = '/var/run/docker.sock';
  return socketExists(socket) ? `unix://${socket}` : undefined;
}
