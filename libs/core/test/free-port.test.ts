import { createServer, type Server } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { freePort } from '../src/tooling/free-port.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

const listen = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

it('hands out distinct ports below the kernel’s ephemeral range that can be bound, never an excluded one', async () => {
  const taken = await freePort();
  servers.push(await listen(taken));
  const ports = new Set<number>();
  for (let i = 0; i < 40; i++) ports.add(await freePort(new Set([taken])));
  expect(ports.size).toBe(40);
  expect(ports.has(taken)).toBe(false);
  for (const port of ports) {
    expect(port).toBeGreaterThanOrEqual(20_000);
    expect(port).toBeLessThan(32_768);
  }
  // Each can be bound right away.
  for (const port of [...ports].slice(0, 5)) servers.push(await listen(port));
});

it('draws a launcher’s ports from a pool of their own, apart from the ports picked for servers others start', async () => {
  const server = new Set<number>();
  const launcher = new Set<number>();
  for (let i = 0; i < 40; i++) {
    server.add(await freePort());
    launcher.add(await freePort(new Set(), 'launcher'));
  }
  expect(Math.max(...server)).toBeLessThan(Math.min(...launcher));
  for (const port of launcher) expect(port).toBeLessThan(32_768);
});
