import { mkdirSync } from 'node:fs';
import { open, type RootDatabase } from 'lmdb';

/**
 * Opens an LMDB environment whose write promises resolve only once the transaction is durable.
 *
 * lmdb-js enables `overlappingSync` by default on Linux/macOS: the write thread then begins
 * transactions with MDB_NOSYNC, resolves write promises as soon as the commit is *visible*, and
 * fsyncs later (only `db.flushed` waits for that). Such a commit is also visible to readers
 * before it is durable, so a reducer could apply a log record that a power loss then erases.
 * With `overlappingSync: false` every transaction is committed with a synchronous
 * fdatasync() before the write thread marks it committed, so "resolved" means "on disk", and
 * readers only ever see durable data. Throughput stays high because lmdb-js batches all writes
 * queued in one event turn (and all writes queued while the previous fsync runs) into a single
 * transaction: one fsync for many concurrent appends.
 */
export function openLmdbEnvironment(path: string): RootDatabase {
  mkdirSync(path, { recursive: true });
  return open({ path, overlappingSync: false, maxDbs: 12 });
}
