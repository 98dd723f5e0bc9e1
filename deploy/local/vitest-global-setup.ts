import { chooseTestServices } from './test-services.js';
import { dockerAnswers, startContainerServices } from './testcontainers-services.js';

/**
 * Vitest's global set-up: with KAFKA_BROKERS and REDIS_URL unset and a Docker engine answering,
 * Kafka and Redis are started in containers and their addresses exported to the test workers
 * (started after this); otherwise the environment's services are used, as services:up sets them.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const unset = !process.env.KAFKA_BROKERS?.trim() && !process.env.REDIS_URL?.trim();
  // The probe only matters when there is something to choose.
  const choice = chooseTestServices(process.env, unset || process.env.FLUX_TEST_SERVICES === 'testcontainers' ? await dockerAnswers() : false);
  if (choice.source !== 'testcontainers') return undefined;
  process.stderr.write(`[test services] ${choice.reason}: starting Kafka and Redis with testcontainers\n`);
  const services = await startContainerServices();
  Object.assign(process.env, services.env);
  return () => services.stop();
}
