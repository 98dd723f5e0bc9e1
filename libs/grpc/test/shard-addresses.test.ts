import { describe, expect, it } from 'vitest';
import { ErrorCode, isFluxError, partitionFor, partitionsOfShard, shardForEntity, shardForPartition } from '@flux/domain';
import { parseShardAddresses, SHARD_ADDRESSES_ENV, shardAddressesFromEnv } from '../src/index.js';

const problem = (value: string | undefined): string => {
  try {
    parseShardAddresses(value);
  } catch (error) {
    if (isFluxError(error) && error.code === ErrorCode.NotConfigured) return error.message;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
};

describe('parseShardAddresses', () => {
  it('keeps the order (index = shard) and trims whitespace', () => {
    expect(parseShardAddresses('reducer-0.reducers:50051, reducer-1.reducers:50051 ,10.0.0.7:7000,[::1]:9000,localhost:1')).toEqual([
      'reducer-0.reducers:50051',
      'reducer-1.reducers:50051',
      '10.0.0.7:7000',
      '[::1]:9000',
      'localhost:1',
    ]);
    expect(parseShardAddresses('a:1')).toEqual(['a:1']);
  });

  it('reads FLUX_SHARD_ADDRESSES', () => {
    expect(shardAddressesFromEnv({ [SHARD_ADDRESSES_ENV]: 'h0:1,h1:2' })).toEqual(['h0:1', 'h1:2']);
    expect(() => shardAddressesFromEnv({})).toThrowError(/FLUX_SHARD_ADDRESSES is not set/);
  });

  it('rejects empty values, empty entries, missing or bad ports, and duplicates', () => {
    expect(problem(undefined)).toMatch(/not set/);
    expect(problem('  ')).toMatch(/not set/);
    expect(problem('a:1,,b:2')).toMatch(/empty entry at shard 1/);
    expect(problem('a:1,')).toMatch(/empty entry at shard 1/);
    expect(problem('a')).toMatch(/invalid address at shard 0/);
    expect(problem('a:0')).toMatch(/invalid address/);
    expect(problem('a:65536')).toMatch(/invalid address/);
    expect(problem('a:port')).toMatch(/invalid address/);
    expect(problem('http://a:1')).toMatch(/invalid address/);
    expect(problem('::1:9000')).toMatch(/invalid address/);
    expect(problem('a b:1')).toMatch(/invalid address/);
    expect(problem('a:1,A:1')).toMatch(/twice/);
  });
});

describe('static shard routing', () => {
  it('gives every partition to exactly one shard (partition mod shard count)', () => {
    const owned = [0, 1, 2].map((shard) => partitionsOfShard(shard, 3, 8));
    expect(owned).toEqual([
      [0, 3, 6],
      [1, 4, 7],
      [2, 5],
    ]);
    expect(owned.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (let partition = 0; partition < 8; partition++) expect(owned[shardForPartition(partition, 3)]).toContain(partition);
  });

  it('routes an entity to the owner of its partition', () => {
    for (const id of ['a', 'ns/b', '日本/😀', '__proto__/x']) {
      expect(shardForEntity(id, 12, 5)).toBe(partitionFor(id, 12) % 5);
      expect(partitionsOfShard(shardForEntity(id, 12, 5), 5, 12)).toContain(partitionFor(id, 12));
    }
  });

  it('rejects impossible shard layouts', () => {
    expect(() => shardForPartition(1, 0)).toThrow(RangeError);
    expect(() => partitionsOfShard(3, 3, 8)).toThrow(RangeError);
    expect(() => partitionsOfShard(0, 3, 0)).toThrow(RangeError);
  });
});
