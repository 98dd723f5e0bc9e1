import { createServer } from 'node:net';

/** Ports this process was given: the kernel may hand a just-released port out again. */
const given = new Set<number>();

/**
 * A TCP port on 127.0.0.1 nothing listens on now (the OS picked it; it is released before
 * returning), and that this process was not given before: freePort binds
 * port 0 and releases it, so until its caller binds it, another bind(0) in this process could
 * be told the same port. (Another process still could; ports passed between processes should
 * be excluded by the one that picks, see `exclude`.)
 */
export async function freePort(exclude: ReadonlySet<number> = new Set()): Promise<number> {
  for (;;) {
    const port = await ephemeralPort();
    if (given.has(port) || exclude.has(port)) continue;
    given.add(port);
    return port;
  }
}

function ephemeralPort(): Promise<number> {
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
