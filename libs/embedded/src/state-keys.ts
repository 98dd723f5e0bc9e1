/**
 * Binary keys of the state store. Entity ids are stored as their raw UTF-8 bytes, so LMDB's
 * memcmp order is exactly the UTF-8 byte order the contract lists entities in (and that
 * `compareIds` and Redis sorted sets use), with no library encoding in between.
 */

const SEPARATOR = 0x00;
const AFTER_SEPARATOR = 0x01;

export const entityKey = (id: string): Buffer => Buffer.from(id, 'utf8');

export const entityIdOf = (key: Buffer): string => key.toString('utf8');

/** The smallest key that sorts after `id`: only ids that extend it come between. */
export const keyAfter = (id: string): Buffer => Buffer.concat([entityKey(id), Buffer.of(SEPARATOR)]);

export const hasPrefix = (key: Buffer, prefix: Buffer): boolean =>
  key.length >= prefix.length && key.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;

/**
 * History keys: id, 0x00, offset as 8 big-endian bytes. Entity ids contain no control
 * characters, so 0x00 ends the id unambiguously, all keys of one entity are contiguous, and
 * they sort by offset (log order).
 */
export function historyKey(id: string, offset: number): Buffer {
  const key = Buffer.alloc(Buffer.byteLength(id, 'utf8') + 9);
  const end = key.write(id, 0, 'utf8');
  key[end] = SEPARATOR;
  key.writeBigUInt64BE(BigInt(offset), end + 1);
  return key;
}

/** Inclusive lower bound of an entity's history keys. */
export const historyStart = (id: string): Buffer => Buffer.concat([entityKey(id), Buffer.of(SEPARATOR)]);

/** Exclusive upper bound of an entity's history keys. */
export const historyEnd = (id: string): Buffer => Buffer.concat([entityKey(id), Buffer.of(AFTER_SEPARATOR)]);

/**
 * Expiry index keys: partition (4 bytes), expiry in epoch milliseconds (8 bytes), both
 * big-endian, then the id: one partition's keys are contiguous and sort soonest first.
 */
export function expiryKey(partition: number, expiresAt: number, id = ''): Buffer {
  const key = Buffer.alloc(12 + Buffer.byteLength(id, 'utf8'));
  key.writeUInt32BE(partition, 0);
  key.writeBigUInt64BE(BigInt(Math.max(0, expiresAt)), 4);
  key.write(id, 12, 'utf8');
  return key;
}

export const expiryIdOf = (key: Buffer): string => key.toString('utf8', 12);

/** Change record keys: partition as 4 and offset as 8 big-endian bytes, so they sort in log order. */
export function changeKey(partition: number, offset: number): Buffer {
  const key = Buffer.alloc(12);
  key.writeUInt32BE(partition, 0);
  key.writeBigUInt64BE(BigInt(offset), 4);
  return key;
}
