const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const encoder = new TextEncoder();

/**
 * Murmur2 exactly as Kafka's Java client computes it (`org.apache.kafka.common.utils.Utils.murmur2`),
 * so that a partition chosen here is the one the Java default partitioner would choose.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const remaining = length % 4;
  // Java's switch falls through from 3 to 1; written out as guards.
  if (remaining >= 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (remaining >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (remaining >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit rather than taking the absolute value. */
export const toPositive = (n: number): number => n & 0x7fffffff;

/** The partition that owns an entity: Java-compatible murmur2 of the UTF-8 id, mod the partition count. */
export function partitionFor(entityId: string, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partition count must be a positive integer, got ${partitionCount}`);
  }
  return toPositive(murmur2(encoder.encode(entityId))) % partitionCount;
}
