import { describe, expect, it } from 'vitest';
import { murmur2, partitionFor, toPositive } from '@flux/domain';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/**
 * Golden vectors produced by the real Java client, org.apache.kafka:kafka-clients:3.9.1 from Maven
 * Central: `Utils.murmur2(key.getBytes(UTF_8))` and `Utils.toPositive(Utils.murmur2(bytes)) % n`
 * (cross-checked there against `BuiltInPartitioner.partitionForKey(bytes, n)`).
 * Columns: key, UTF-8 byte length, murmur2, partition for n = 1, 3, 12, 64.
 * Byte lengths 0..9 cover every tail case (length % 4) of the hash.
 */
const PARTITION_COUNTS = [1, 3, 12, 64] as const;
const KAFKA_VECTORS: ReadonlyArray<readonly [key: string, byteLength: number, murmur2: number, partitions: readonly number[]]> = [
  ['', 0, 275646681, [0, 0, 9, 25]],
  ['a', 1, -1563381124, [0, 1, 4, 60]],
  ['ab', 2, 316155434, [0, 2, 2, 42]],
  ['abc', 3, 479470107, [0, 0, 3, 27]],
  ['abcd', 4, -1323649548, [0, 2, 8, 52]],
  ['abcde', 5, 461995741, [0, 1, 1, 29]],
  ['abcdef', 6, 1870650108, [0, 0, 0, 60]],
  ['abcdefg', 7, -346467175, [0, 1, 1, 25]],
  ['abcdefgh', 8, -955427363, [0, 0, 9, 29]],
  ['abcdefghi', 9, -619679810, [0, 0, 6, 62]],
  ['21', 2, -973932308, [0, 0, 0, 44]],
  ['foobar', 6, -790332482, [0, 0, 6, 62]],
  ['a-little-bit-long-string', 24, -985981536, [0, 2, 8, 32]],
  ['a-little-bit-longer-string', 26, -1486304829, [0, 2, 11, 3]],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', 48, -58897971, [0, 2, 5, 13]],
  ['dawn-coral/sensor-01', 20, 2074704318, [0, 0, 6, 62]],
  ['dawn-coral/sensor-02', 20, -391715596, [0, 1, 4, 52]],
  ['flux-core/directory', 19, -158227855, [0, 1, 1, 49]],
  ['github/org/repo/issues/42', 25, 1260066210, [0, 0, 6, 34]],
  ['é', 2, 186971271, [0, 0, 3, 7]],
  ['café', 5, -1358007374, [0, 0, 6, 50]],
  ['日本', 6, -700811021, [0, 0, 3, 51]],
  ['日本語/エンティティ', 28, -1944694662, [0, 2, 2, 58]],
  ['🚀', 4, 761778625, [0, 1, 1, 1]],
  ['ns/🚀-rocket', 14, 1143205092, [0, 0, 0, 36]],
  ['ÿþý', 6, -827240790, [0, 2, 2, 42]],
  ['0123456789abcdef'.repeat(32), 512, 499546147, [0, 1, 7, 35]],
  ['é'.repeat(512), 1024, 350045799, [0, 0, 3, 39]],
];

describe('murmur2 (Kafka Java client compatible)', () => {
  it.each(
    KAFKA_VECTORS.map(
      ([key, byteLength, hash]) => [key.length > 40 ? `${key.slice(0, 12)}… (${key.length} chars)` : key, key, byteLength, hash] as const,
    ),
  )('murmur2(%j) matches kafka-clients', (_label, key, byteLength, hash) => {
    const bytes = utf8(key);
    expect(bytes.length).toBe(byteLength);
    expect(murmur2(bytes)).toBe(hash);
  });

  it('returns a signed 32-bit integer', () => {
    for (const [key] of KAFKA_VECTORS) {
      const hash = murmur2(utf8(key));
      expect(Number.isInteger(hash)).toBe(true);
      expect(hash).toBe(hash | 0);
    }
  });

  it('does not modify its input', () => {
    const bytes = utf8('dawn-coral/sensor-01');
    const copy = Uint8Array.from(bytes);
    murmur2(bytes);
    expect(bytes).toEqual(copy);
  });
});

describe('toPositive (Kafka Utils.toPositive)', () => {
  it('clears the sign bit instead of taking the absolute value', () => {
    expect(toPositive(0)).toBe(0);
    expect(toPositive(5)).toBe(5);
    expect(toPositive(2147483647)).toBe(2147483647);
    expect(toPositive(-1)).toBe(2147483647);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(-973932308)).toBe(1173551340);
  });
});

describe('partitionFor', () => {
  it.each(
    KAFKA_VECTORS.map(([key, , , partitions]) => [key.length > 40 ? `${key.slice(0, 12)}… (${key.length} chars)` : key, key, partitions] as const),
  )('partitionFor(%j) matches the Java default partitioner', (_label, key, partitions) => {
    PARTITION_COUNTS.forEach((count, index) => {
      expect(partitionFor(key, count)).toBe(partitions[index]);
    });
  });

  it('always returns a partition in [0, count)', () => {
    for (const [key] of KAFKA_VECTORS) {
      for (const count of [1, 2, 7, 100, 1000]) {
        const partition = partitionFor(key, count);
        expect(Number.isInteger(partition)).toBe(true);
        expect(partition).toBeGreaterThanOrEqual(0);
        expect(partition).toBeLessThan(count);
      }
    }
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('throws RangeError for partition count %s', (count) => {
    expect(() => partitionFor('dawn-coral/sensor-01', count)).toThrow(RangeError);
  });
});
