import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { claimPort, freePort, PORT_CLAIMS_DIR } from '../src/tooling/free-port.js';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

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

interface ClaimingProcess {
  readonly pid: number;
  /** The ports it claimed, once it has. */
  readonly claimed: Promise<number[]>;
  /** Closes its stdin, which ends it normally, and waits for it to exit. */
  end(): Promise<void>;
  /** SIGKILL: no exit handler runs. */
  kill(): Promise<void>;
}

/** Another process that claims ports, prints them as one JSON line, and lives until told. */
function claimingProcess(claims: string): ClaimingProcess {
  const script = `
    import { claimPort } from ${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'libs/core/src/tooling/free-port.ts')).href)};
    const claimed = [];
    ${claims}
    process.stdout.write(JSON.stringify(claimed) + '\\n');
    process.stdin.resume();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const claimed = new Promise<number[]>((resolveClaims, reject) => {
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('\n')) resolveClaims(JSON.parse(output) as number[]);
    });
    child.once('exit', (code) => reject(new Error(`the claiming process exited (${code}) before it claimed: ${output}`)));
  });
  return {
    pid: child.pid!,
    claimed,
    end: async () => {
      child.stdin.end();
      await exited;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

it('never gives a port another live process was given, and has it back once that process exits', async () => {
  // The other process holds every second port of the launcher pool: without claims across
  // processes, about half of the draws below would land on one of them.
  const other = claimingProcess('for (let port = 26_384; port <= 32_767; port += 2) if (claimPort(port)) claimed.push(port);');
  const held = await other.claimed;
  expect(held.length).toBeGreaterThan(3_000);
  const heldSet = new Set(held);
  try {
    for (let i = 0; i < 100; i++) expect(heldSet.has(await freePort(new Set(), 'launcher'))).toBe(false);
    expect(claimPort(held[0]!), 'a port another live process claimed').toBe(false);
  } finally {
    await other.end();
  }
  expect(claimPort(held[0]!), 'a port whose process has exited').toBe(true);
});

it('takes over the claim of a process killed before it could release it', async () => {
  const killed = claimingProcess('const port = 26_385 + 2 * Math.floor(Math.random() * 3_000); if (claimPort(port)) claimed.push(port);');
  const [port] = await killed.claimed;
  expect(port, 'the process claimed a port').toBeDefined();
  expect(claimPort(port!), 'held while the process lives').toBe(false);
  await killed.kill();
  expect(existsSync(join(PORT_CLAIMS_DIR, String(port))), 'the claim is left behind').toBe(true);
  expect(claimPort(port!), 'taken over after SIGKILL').toBe(true);
});
