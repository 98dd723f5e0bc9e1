import { createServer } from 'node:net';

/** Ports this process was given: never handed out twice by one process. */
const given = new Set<number>();

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
 * A TCP port on 127.0.0.1 nothing listens on now (it is released before returning), and that
 * this process was not given before. It is drawn at random from RANGE rather than asked of the
 * kernel: the kernel tends to hand a port just released to the next bind to port 0, so two
 * processes picking ports at the same moment (a test and a cluster launcher, or two launchers)
 * would often be given the same one, and the later bind fails or, worse, a client reaches the
 * wrong server. Random draws from 6,384 ports per pool make that rare; `exclude` rules out
 * ports known to be taken by another process.
 */
export async function freePort(exclude: ReadonlySet<number> = new Set(), pool: PortPool = 'server'): Promise<number> {
  const range = POOLS[pool];
  for (let attempt = 0; ; attempt++) {
    const port = attempt < RANDOM_TRIES ? range.from + Math.floor(Math.random() * (range.to - range.from + 1)) : await kernelPort();
    if (given.has(port) || exclude.has(port)) continue;
    if (attempt < RANDOM_TRIES && !(await bindable(port))) continue;
    given.add(port);
    return port;
  }
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
