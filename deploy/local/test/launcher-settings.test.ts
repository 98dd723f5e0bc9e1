import { expect, it } from 'vitest';
import { ConfigError } from '@flux/core';
import { parseLauncherSettings } from '../launcher-settings.js';

it('start:cluster reads its own variables with defaults', () => {
  expect(parseLauncherSettings({ FLUX_CLUSTER_NODE_ARGS: ' --cpu-prof  --cpu-prof-dir=/tmp/p ' })).toEqual({
    shardCount: 3,
    elastic: false,
    queryGateways: 2,
    restartDelayMs: 1000,
    stopGraceMs: 25_000,
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir=/tmp/p'],
    publicPort: 3000,
    host: '0.0.0.0',
    stateFile: undefined,
  });
});

it('start:cluster with elastic reducers may start none of them (its caller runs its own)', () => {
  expect(parseLauncherSettings({ FLUX_REDUCER_ASSIGNMENT: 'elastic', FLUX_CLUSTER_SHARDS: '0' })).toMatchObject({ shardCount: 0, elastic: true });
  expect(() => parseLauncherSettings({ FLUX_CLUSTER_SHARDS: '0' })).toThrow(/FLUX_CLUSTER_SHARDS/);
});

it('start:cluster refuses to start with one message naming its own and every role’s bad variables', () => {
  let error: unknown;
  try {
    parseLauncherSettings({ FLUX_CLUSTER_SHARDS: 'three', FLUX_CLUSTER_QUERY_GATEWAYS: '0', FLUX_PARTITIONS: '0', REDIS_URL: 'http://r' });
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).problems).toEqual([
    'FLUX_CLUSTER_SHARDS must be an integer from 1 to 64, got "three"',
    'FLUX_CLUSTER_QUERY_GATEWAYS must be an integer from 1 to 64, got "0"',
    'FLUX_PARTITIONS must be an integer from 1 to 1024, got "0"',
    'REDIS_URL must be a redis:// or rediss:// URL',
  ]);
});
