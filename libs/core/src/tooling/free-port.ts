import { createServer } from 'node:net';

/** Ports this process was given: never handed out twice by one process. */
const given = new Set<number>();

/**
 * Where ports are drawn from: below Linux's default ephemeral range (32768–60999), so neither
 * a bind to port 0 nor an outgoing connection is given one of them by the kernel.
 */
const RANGE = { from: 20_000, to: 32_767 } as const;
const RANDOM_TRIES = 50;

/**
 * A TCP port on 127.0.0.1 nothing listens on now (it is released before returning), and that
 * this process was not given before. It is drawn at random from RANGE rather than asked of the
 * kernel: the kernel tends to hand a port just released to the next bind to port 0, so two
 * processes picking ports at the same moment (a test and a cluster launcher, or two launchers)
 * would often be given the same one, and the later bind fails or, worse, a client reaches the
 * wrong server. Random draws from 12,768 ports make that rare; `exclude` rules out ports known
 * to be taken by another process.
 */
export async function freePort(exclude: ReadonlySet<number> = new Set()): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = attempt < RANDOM_TRIES ? RANGE.from + Math.floor(Math.random() * (RANGE.to - RANGE.from + 1)) : await kernelPort();
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
