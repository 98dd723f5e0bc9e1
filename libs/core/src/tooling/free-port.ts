import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Ports this process was given: never handed out twice by one process. */
const given = new Set<number>();

/**
 * Where processes on this machine record the ports they were given: a file per port holding
 * the pid. A port is picked in one process and bound later in another (a test starts a server,
 * a launcher starts its gateways), and a cluster's processes take seconds to start, so a port
 * can look free for that long: two clusters started at once by two processes once both drew
 * one, the gateway that lost the bind restarted in a loop, and the other cluster's gateway
 * answered in its place (its readiness, then half its connections), silently. One directory
 * per user: another user's files could not be replaced.
 */
export const PORT_CLAIMS_DIR = join(tmpdir(), `flux-port-claims-${process.getuid?.() ?? 'user'}`);
/** A claim file still empty after this long was left by a process that died while writing it. */
const EMPTY_CLAIM_STALE_MS = 10_000;
const claimFiles: string[] = [];

/**
 * Where ports are drawn from: below Linux's default ephemeral range (32768–60999), so neither
 * a bind to port 0 nor an outgoing connection is given one of them by the kernel. Two pools:
 * - `server`: a port a test or tool picks for a server it then starts in another process, and
 *   releases until that process binds it;
 * - `launcher`: a port a launcher (start-cluster) gives one of its own processes.
 * A launcher never draws from the pool where another process's picked-but-unbound port may
 * be: three clusters started at once once had one cluster's query gateway take the public port
 * a test had picked for another, whose requests then reached the wrong cluster.
 */
const POOLS = { server: { from: 20_000, to: 26_383 }, launcher: { from: 26_384, to: 32_767 } } as const;
export type PortPool = keyof typeof POOLS;
const RANDOM_TRIES = 50;

/**
 * A TCP port on 127.0.0.1 nothing listens on now (it is released before returning), that this
 * process was not given before, and that no other live process here was given (`claimPort`).
 * It is drawn at random from the pool rather than asked of the kernel: the kernel tends to hand
 * a port just released to the next bind to port 0, to a process that does not claim ports.
 * `exclude` rules out ports known to be taken by another process.
 */
export async function freePort(exclude: ReadonlySet<number> = new Set(), pool: PortPool = 'server'): Promise<number> {
  const range = POOLS[pool];
  for (let attempt = 0; ; attempt++) {
    const port = attempt < RANDOM_TRIES ? range.from + Math.floor(Math.random() * (range.to - range.from + 1)) : await kernelPort();
    if (given.has(port) || exclude.has(port)) continue;
    if (attempt < RANDOM_TRIES && !(await bindable(port))) continue;
    if (!claimPort(port)) continue;
    given.add(port);
    return port;
  }
}

/**
 * Claims `port` for this process among the processes of this machine that pick ports here:
 * false while another live process holds it. A claim lasts as long as its process; a claim of
 * a process that is gone is taken over. (Two processes taking over the same dead claim at the
 * same instant could both succeed; that needs the same random port drawn twice at once.)
 */
export function claimPort(port: number): boolean {
  mkdirSync(PORT_CLAIMS_DIR, { recursive: true });
  const file = join(PORT_CLAIMS_DIR, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      if (claimFiles.push(file) === 1) process.once('exit', releaseClaims);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (claimHeld(file)) return false;
      rmSync(file, { force: true });
    }
  }
  return false;
}

/** Whether the process named in a claim file is alive (an unreadable claim counts as held). */
function claimHeld(file: string): boolean {
  let pid: number;
  try {
    const content = readFileSync(file, 'utf8');
    if (content === '') return Date.now() - statSync(file).mtimeMs < EMPTY_CLAIM_STALE_MS;
    pid = Number(content);
  } catch (error) {
    // Released between our attempt to create it and this read: free, try again.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, owned by another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseClaims(): void {
  for (const file of claimFiles.splice(0)) rmSync(file, { force: true });
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolveBindable) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolveBindable(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveBindable(true)));
  });
}

/** A port the kernel picks (bind to port 0), when random draws keep meeting taken ports. */
function kernelPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      server.close(() => resolvePort(address.port));
    });
  });
}
