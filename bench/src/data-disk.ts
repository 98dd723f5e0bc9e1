/**
 * Which filesystem a server's data directory is on. Flux fsyncs before it acknowledges, so the
 * same run is a different measurement on tmpfs (fsync is free) and on a disk; the WebSocket
 * targets differ by that, and the results say which one a run used.
 */
import { readFileSync, realpathSync } from 'node:fs';

export interface DataDisk {
  /** The directory the server kept its data in. */
  readonly path: string;
  /** Filesystem type of its mount (`ext4`, `tmpfs`, …). */
  readonly fsType: string;
  /** What is mounted there (`/dev/vda`, `tmpfs`). */
  readonly source: string;
  readonly mountPoint: string;
}

/** Filesystems held in memory: fsync costs nothing on them. */
const MEMORY_FILESYSTEMS = new Set(['tmpfs', 'ramfs']);

export const inMemory = (disk: DataDisk): boolean => MEMORY_FILESYSTEMS.has(disk.fsType);

/** `ext4 /dev/vda at /`: how the report names a data disk. */
export const diskText = (disk: DataDisk): string => `${disk.fsType} ${disk.source} at ${disk.mountPoint}`;

/** /proc/self/mountinfo escapes blanks and backslashes in paths as octal (`\040`). */
const unescapeMountPath = (text: string): string => text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/**
 * The mount that holds `path` (absolute, symlinks resolved), from the text of
 * /proc/self/mountinfo: the longest mount point that is `path` or a parent of it, the last
 * mounted winning where several share a mount point (the visible one).
 */
export function mountOf(path: string, mountinfo: string): Omit<DataDisk, 'path'> | undefined {
  let best: Omit<DataDisk, 'path'> | undefined;
  for (const line of mountinfo.split('\n')) {
    // <id> <parent> <major:minor> <root> <mount point> <options> [optional fields…] - <fstype> <source> <super options>
    const [before, after] = line.split(' - ');
    if (before === undefined || after === undefined) continue;
    const mountPoint = unescapeMountPath(before.split(' ')[4] ?? '');
    const [fsType, source] = after.split(' ');
    if (mountPoint === '' || fsType === undefined || source === undefined) continue;
    const contains = mountPoint === '/' || path === mountPoint || path.startsWith(`${mountPoint}/`);
    if (contains && (best === undefined || mountPoint.length >= best.mountPoint.length)) {
      best = { fsType, source: unescapeMountPath(source), mountPoint };
    }
  }
  return best;
}

/** The data disk of a directory on this machine; undefined where /proc is not there to ask. */
export function dataDiskOf(path: string): DataDisk | undefined {
  try {
    const real = realpathSync(path);
    const mount = mountOf(real, readFileSync('/proc/self/mountinfo', 'utf8'));
    return mount === undefined ? undefined : { path: real, ...mount };
  } catch {
    return undefined;
  }
}
