import { v7 as uuidv7 } from 'uuid';

export type IdGenerator = () => string;

/** Random bytes fetched per call to the system's generator: 256 ids' worth. */
const POOL_BYTES = 16 * 256;

/**
 * UUIDv7 ids, monotonic within a millisecond (as uuid's own v7), drawing their random bytes
 * from a pool refilled 256 ids at a time. uuid's default asks the system generator for 16
 * bytes per id, a call that cost more than the rest of validating an event on the ingest path.
 */
export function createEventIdGenerator(now: () => number = Date.now): IdGenerator {
  const pool = new Uint8Array(POOL_BYTES);
  let used = POOL_BYTES;
  let msecs = -Infinity;
  let seq = 0;
  return () => {
    if (used === POOL_BYTES) {
      crypto.getRandomValues(pool);
      used = 0;
    }
    const random = pool.subarray(used, used + 16);
    used += 16;
    const time = now();
    if (time > msecs) {
      msecs = time;
      // uuid's v7 sequence start: 31 random bits, leaving room to count up within the millisecond.
      seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
    } else {
      seq = (seq + 1) | 0;
      if (seq === 0) msecs++;
    }
    return uuidv7({ random, msecs, seq });
  };
}

/** The process-wide generator behind every id Flux assigns. */
export const newEventId: IdGenerator = createEventIdGenerator();
