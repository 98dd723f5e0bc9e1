import { describe, expect, it } from 'vitest';
import { chooseTestServices, dockerEndpoint } from '../test-services.js';

describe('chooseTestServices', () => {
  const services = { KAFKA_BROKERS: '127.0.0.1:9092', REDIS_URL: 'redis://127.0.0.1:6379' };

  it('uses the environment whenever KAFKA_BROKERS or REDIS_URL is set, Docker or not', () => {
    expect(chooseTestServices(services, true).source).toBe('environment');
    expect(chooseTestServices(services, false).source).toBe('environment');
    expect(chooseTestServices({ REDIS_URL: services.REDIS_URL }, true)).toEqual({ source: 'environment', reason: 'REDIS_URL set' });
  });

  it('starts containers when both are unset (or blank) and a Docker engine answers; otherwise none', () => {
    expect(chooseTestServices({}, true).source).toBe('testcontainers');
    expect(chooseTestServices({ KAFKA_BROKERS: ' ', REDIS_URL: '' }, true).source).toBe('testcontainers');
    const none = chooseTestServices({}, false);
    expect(none.source).toBe('none');
    expect(none.reason).toMatch(/services:up/);
  });

  it('obeys FLUX_TEST_SERVICES, refusing testcontainers without Docker and unknown values', () => {
    expect(chooseTestServices({ ...services, FLUX_TEST_SERVICES: 'testcontainers' }, true).source).toBe('testcontainers');
    expect(chooseTestServices({ FLUX_TEST_SERVICES: 'none' }, true).source).toBe('none');
    expect(() => chooseTestServices({ FLUX_TEST_SERVICES: 'testcontainers' }, false)).toThrow(/no Docker engine answers/);
    expect(() => chooseTestServices({ FLUX_TEST_SERVICES: 'docker' }, true)).toThrow(/must be environment, testcontainers or none/);
  });
});

describe('dockerEndpoint', () => {
  it('prefers DOCKER_HOST, then the default socket when it exists', () => {
    expect(dockerEndpoint({ DOCKER_HOST: 'tcp://docker:2375' }, () => true)).toBe('tcp://docker:2375');
    expect(dockerEndpoint({}, (path) => path === '/var/run/docker.sock')).toBe('unix:///var/run/docker.sock');
    expect(dockerEndpoint({}, () => false)).toBeUndefined();
  });
});
