import { describe, expect, it } from 'vitest';
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
