import { mkdirSync } from 'node:fs';
import { open, type RootDatabase } from 'lmdb';

/**
 * When a write promise resolves:
 * - `durable`: once the transaction is on disk. For data that exists nowhere else (the log,
 *   the control data).
 * - `visible`: once the transaction is committed and readable; the fsync follows in the
 *   background (`flushed()` waits for it). For data rebuilt from a durable source, such as
 *   state derived from the log: an OS crash can roll it back to an earlier consistent commit,
 *   never corrupt it, and replay restores the rest.
 */
export type Durability = 'durable' | 'visible';

/**
 * Address space reserved for each environment's memory map (not disk, not memory: the file
 * grows only as data is written). Reserved once, because lmdb-js grows a smaller map by
 * mapping the file again and keeps the earlier mappings, whose resident pages then count
 * several times over: a store of 1M entities showed about twice its size in RSS.
 */
const MAP_SIZE_BYTES = 2 ** 36;

/**
 * Opens an LMDB environment.
 *
 * lmdb-js enables `overlappingSync` by default on Linux/macOS: the write thread then begins
 * transactions with MDB_NOSYNC, resolves write promises as soon as the commit is *visible*, and
 * fsyncs later. Such a commit is also visible to readers before it is durable, so a reducer
 * could apply a log record that a power loss then erases. `durable` turns it off: every
 * transaction is committed with a synchronous fdatasync() before the write thread marks it
 * committed, so "resolved" means "on disk", and readers only ever see durable data. Throughput
 * stays high because lmdb-js batches all writes queued in one event turn (and all writes queued
 * while the previous fsync runs) into a single transaction: one fsync for many appends.
 */
export function openLmdbEnvironment(path: string, durability: Durability = 'durable'): RootDatabase {
  mkdirSync(path, { recursive: true });
  return open({ path, overlappingSync: durability === 'visible', mapSize: MAP_SIZE_BYTES, maxDbs: 12 });
}
