import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseClusterSettings } from '../src/index.js';

const SERVICES = { KAFKA_BROKERS: 'k1:9092,k2:9092', REDIS_URL: 'redis://r:6379' };

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseClusterSettings', () => {
  it('gives each role its own settings: a reducer its shard, a query gateway its shards and ingest URL', () => {
    const reducer = parseClusterSettings('reducer', { ...SERVICES, SHARD_INDEX: '2', SHARD_COUNT: '3', GRPC_PORT: '50052' });
    expect(reducer.shard).toEqual({ shardIndex: 2, shardCount: 3, grpcHost: '0.0.0.0', grpcPort: 50052, metricsPort: 9464 });
    expect(parseClusterSettings('reducer', { ...SERVICES, FLUX_METRICS_PORT: '9100' }).shard.metricsPort).toBe(9100);
    expect(reducer.cluster).toMatchObject({ kafkaBrokers: ['k1:9092', 'k2:9092'], redisUrl: 'redis://r:6379', kafkaTopic: 'flux-events' });

    const query = parseClusterSettings('query-gateway', { ...SERVICES, FLUX_SHARD_ADDRESSES: 'a:1, b:2', FLUX_INGEST_URL: 'http://ingest:3001/' });
    expect(query.shardAddresses).toEqual(['a:1', 'b:2']);
    expect(query.ingestUrl).toBe('http://ingest:3001');

    const ingest = parseClusterSettings('ingest-gateway', { ...SERVICES, FLUX_SHARD_ADDRESSES: 'a:1' });
    expect(ingest.shardAddresses).toEqual(['a:1']);
    expect(ingest).not.toHaveProperty('ingestUrl');
  });

  it('reads FLUX_REDUCER_ASSIGNMENT in every role: static needs the shard addresses, elastic ignores them', () => {
    for (const role of ['reducer', 'ingest-gateway', 'query-gateway'] as const) {
      expect(parseClusterSettings(role, { ...SERVICES, FLUX_SHARD_ADDRESSES: 'a:1' }).cluster.reducerAssignment).toBe('static');
      expect(parseClusterSettings(role, { ...SERVICES, FLUX_REDUCER_ASSIGNMENT: 'Elastic' }).cluster.reducerAssignment).toBe('elastic');
      expect(problemsOf(() => parseClusterSettings(role, { ...SERVICES, FLUX_SHARD_ADDRESSES: 'a:1', FLUX_REDUCER_ASSIGNMENT: 'dynamic' }))).toEqual([
        'FLUX_REDUCER_ASSIGNMENT must be one of static, elastic, got "dynamic"',
      ]);
    }
    const elastic = parseClusterSettings('query-gateway', { ...SERVICES, FLUX_REDUCER_ASSIGNMENT: 'elastic', FLUX_SHARD_ADDRESSES: 'ignored' });
    expect(elastic.shardAddresses).toEqual([]);
    expect(problemsOf(() => parseClusterSettings('ingest-gateway', { ...SERVICES, FLUX_REDUCER_ASSIGNMENT: 'static' }))).toEqual([
      'FLUX_SHARD_ADDRESSES is required',
    ]);
  });

  it('gives an elastic reducer its member id, advertised address and lease, and no shard', () => {
    const reducer = parseClusterSettings('reducer', { ...SERVICES, FLUX_REDUCER_ASSIGNMENT: 'elastic', GRPC_PORT: '6000', SHARD_INDEX: '9' });
    expect(reducer.shard.elastic).toEqual({ memberId: `${hostname()}:6000`, advertisedHost: hostname(), leaseMs: 6_000 });
    const named = parseClusterSettings('reducer', {
      ...SERVICES,
      FLUX_REDUCER_ASSIGNMENT: 'elastic',
      FLUX_REDUCER_ID: 'flux-reducer-3',
      FLUX_ADVERTISED_HOST: '10.1.2.3',
      FLUX_REDUCER_LEASE_MS: '10000',
    });
    expect(named.shard.elastic).toEqual({ memberId: 'flux-reducer-3', advertisedHost: '10.1.2.3', leaseMs: 10_000 });
    expect(parseClusterSettings('reducer', { ...SERVICES }).shard.elastic).toBeUndefined();
    expect(
      problemsOf(() =>
        parseClusterSettings('reducer', { ...SERVICES, FLUX_REDUCER_ASSIGNMENT: 'elastic', GRPC_PORT: '0', FLUX_REDUCER_LEASE_MS: '10' }),
      ),
    ).toEqual([
      'GRPC_PORT must be a fixed port with FLUX_REDUCER_ASSIGNMENT=elastic (gateways dial the advertised address)',
      'FLUX_REDUCER_LEASE_MS must be an integer from 1000 to 300000, got "10"',
    ]);
  });

  it('names every missing or bad variable of a role at once', () => {
    expect(problemsOf(() => parseClusterSettings('reducer', { SHARD_INDEX: '3', SHARD_COUNT: '3', REDIS_URL: 'http://r' }))).toEqual([
      'KAFKA_BROKERS is required',
      'REDIS_URL must be a redis:// or rediss:// URL',
      'SHARD_INDEX must be below SHARD_COUNT (3), got 3',
    ]);
    expect(problemsOf(() => parseClusterSettings('reducer', { ...SERVICES, FLUX_METRICS_PORT: 'http' }))).toEqual([
      'FLUX_METRICS_PORT must be an integer from 0 to 65535, got "http"',
    ]);
    expect(problemsOf(() => parseClusterSettings('reducer', { ...SERVICES, FLUX_METRICS_PORT: '70000' }))).toEqual([
      'FLUX_METRICS_PORT must be an integer from 0 to 65535, got "70000"',
    ]);
    expect(problemsOf(() => parseClusterSettings('reducer', { ...SERVICES, GRPC_PORT: '9464' }))).toEqual([
      'FLUX_METRICS_PORT must differ from GRPC_PORT (9464)',
    ]);
    expect(
      problemsOf(() =>
        parseClusterSettings('query-gateway', { ...SERVICES, FLUX_SHARD_ADDRESSES: 'no-port', FLUX_INGEST_URL: 'ftp://x', PORT: 'x' }),
      ),
    ).toEqual([
      'PORT must be an integer from 0 to 65535, got "x"',
      'FLUX_SHARD_ADDRESSES must be host:port[,host:port...] in shard order',
      'FLUX_INGEST_URL must be an http(s) URL, got "ftp://x"',
    ]);
  });
});

describe('parseClusterSettings: Kafka TLS and SASL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flux-settings-'));
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n');
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, 'from-a-file\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads plaintext without SASL by default, and TLS with the CA and SASL credentials when given', () => {
    expect(parseClusterSettings('reducer', SERVICES).cluster).toMatchObject({
      kafkaCreateTopic: true,
      kafkaSecurity: { tls: undefined, sasl: undefined },
    });
    expect(parseClusterSettings('reducer', { ...SERVICES, FLUX_KAFKA_TLS: 'true' }).cluster.kafkaSecurity.tls).toEqual({});
    const cluster = parseClusterSettings('reducer', {
      ...SERVICES,
      FLUX_KAFKA_TLS_CA_FILE: ca,
      FLUX_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      FLUX_KAFKA_SASL_USERNAME: 'flux',
      FLUX_KAFKA_SASL_PASSWORD_FILE: passwordFile,
      FLUX_KAFKA_CREATE_TOPIC: 'false',
    }).cluster;
    expect(cluster.kafkaCreateTopic).toBe(false);
    expect(cluster.kafkaSecurity).toEqual({
      tls: { ca: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n' },
      sasl: { mechanism: 'scram-sha-512', username: 'flux', password: 'from-a-file' },
    });
  });

  it('names every bad TLS or SASL variable at once', () => {
    expect(
      problemsOf(() =>
        parseClusterSettings('reducer', {
          ...SERVICES,
          FLUX_KAFKA_TLS_CA_FILE: join(dir, 'absent.pem'),
          FLUX_KAFKA_TLS_CERT_FILE: ca,
          FLUX_KAFKA_SASL_MECHANISM: 'gssapi',
          FLUX_KAFKA_CREATE_TOPIC: 'maybe',
        }),
      ),
    ).toEqual([
      `FLUX_KAFKA_CREATE_TOPIC must be true or false, got "maybe"`,
      `FLUX_KAFKA_TLS_CA_FILE names a file that cannot be read (${join(dir, 'absent.pem')}: ENOENT)`,
      'FLUX_KAFKA_TLS_CERT_FILE and FLUX_KAFKA_TLS_KEY_FILE must be set together',
      'FLUX_KAFKA_SASL_MECHANISM must be one of plain, scram-sha-256, scram-sha-512, oauthbearer, got "gssapi"',
    ]);
    expect(problemsOf(() => parseClusterSettings('reducer', { ...SERVICES, FLUX_KAFKA_SASL_MECHANISM: 'plain' }))).toEqual([
      'FLUX_KAFKA_SASL_USERNAME is required with FLUX_KAFKA_SASL_MECHANISM=plain',
      'FLUX_KAFKA_SASL_PASSWORD (or FLUX_KAFKA_SASL_PASSWORD_FILE) is required with FLUX_KAFKA_SASL_MECHANISM=plain',
    ]);
    expect(
      problemsOf(() =>
        parseClusterSettings('reducer', { ...SERVICES, FLUX_KAFKA_SASL_USERNAME: 'u', FLUX_KAFKA_TLS: 'false', FLUX_KAFKA_TLS_CA_FILE: ca }),
      ),
    ).toEqual(['FLUX_KAFKA_TLS_*_FILE are set but FLUX_KAFKA_TLS is false', 'FLUX_KAFKA_SASL_MECHANISM is required when SASL credentials are set']);
    expect(problemsOf(() => parseClusterSettings('reducer', { ...SERVICES, FLUX_KAFKA_SASL_MECHANISM: 'oauthbearer' }))).toEqual([
      'FLUX_KAFKA_SASL_OAUTHBEARER_TOKEN_FILE is required with FLUX_KAFKA_SASL_MECHANISM=oauthbearer',
    ]);
  });
});

describe('parseClusterSettings: Redis connection', () => {
  it('reads a standalone URL by default, and Cluster or Sentinel topologies with their nodes', () => {
    expect(parseClusterSettings('reducer', SERVICES).cluster.redis).toEqual({
      url: 'redis://r:6379',
      username: undefined,
      password: undefined,
      tls: undefined,
      topology: { kind: 'standalone' },
    });
    const cluster = parseClusterSettings('reducer', { ...SERVICES, FLUX_REDIS_CLUSTER: 'true', FLUX_REDIS_CLUSTER_NODES: 'r2:6379, r3:6379' });
    expect(cluster.cluster.redis.topology).toEqual({ kind: 'cluster', seeds: ['r2:6379', 'r3:6379'] });
    const sentinel = parseClusterSettings('reducer', {
      ...SERVICES,
      FLUX_REDIS_SENTINEL_MASTER: 'mymaster',
      FLUX_REDIS_SENTINELS: 's2:26379',
      FLUX_REDIS_SENTINEL_PASSWORD: 'sp',
      FLUX_REDIS_USERNAME: 'flux',
      FLUX_REDIS_PASSWORD: 'pw',
    }).cluster.redis;
    expect(sentinel).toMatchObject({
      username: 'flux',
      password: 'pw',
      topology: { kind: 'sentinel', master: 'mymaster', sentinels: ['s2:26379'], sentinelPassword: 'sp' },
    });
  });

  it('names every bad Redis connection variable at once', () => {
    expect(
      problemsOf(() =>
        parseClusterSettings('reducer', {
          ...SERVICES,
          FLUX_REDIS_TLS_CA_FILE: '/nonexistent/ca.pem',
          FLUX_REDIS_CLUSTER_NODES: 'no-port',
          FLUX_REDIS_SENTINELS: 's1:26379',
        }),
      ),
    ).toEqual([
      'FLUX_REDIS_TLS_CA_FILE names a file that cannot be read (/nonexistent/ca.pem: ENOENT)',
      'FLUX_REDIS_TLS_*_FILE need a rediss:// REDIS_URL',
      'FLUX_REDIS_CLUSTER_NODES must be host:port[,host:port...]',
      'FLUX_REDIS_CLUSTER_NODES needs FLUX_REDIS_CLUSTER=true',
      'FLUX_REDIS_SENTINELS and FLUX_REDIS_SENTINEL_PASSWORD need FLUX_REDIS_SENTINEL_MASTER',
    ]);
    expect(problemsOf(() => parseClusterSettings('reducer', { ...SERVICES, FLUX_REDIS_CLUSTER: 'true', FLUX_REDIS_SENTINEL_MASTER: 'm' }))).toEqual([
      'FLUX_REDIS_CLUSTER and FLUX_REDIS_SENTINEL_MASTER exclude each other',
    ]);
  });
});
