import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, makeTestPki, missingCommands, type TestPki } from '@flux/core/tooling';

const run = promisify(execFile);

/** The ACL user the TLS server knows (the default user is off). */
export const REDIS_USER = { username: 'flux-app', password: 'flux-app-secret' } as const;

export const missingRedisTools = (): string[] => missingCommands(['redis-server', 'redis-cli', 'openssl']);

/** redis-server processes of a test, in a temporary directory, stopped together. */
class RedisProcesses {
  private readonly children: ChildProcess[] = [];
  constructor(readonly dir: string) {}

  /** Starts redis-server on `port`; `config` (a file and its flags) comes first, as redis-server wants it. */
  async start(port: number, args: readonly string[], config: readonly string[] = []): Promise<void> {
    const dir = join(this.dir, String(port));
    await mkdir(dir);
    const common = config.length > 0 ? [] : ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const child = spawn('redis-server', [...config, ...common, '--dir', dir, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.push(child);
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-2000)));
    child.stderr?.resume();
    await waitForListener(port, child).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}:\n${output}`);
    });
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }),
    );
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Resolves once something accepts connections on the port; rejects when the server exits first. */
async function waitForListener(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on port ${port} within ${timeoutMs} ms`);
    await delay(50);
  }
}

export interface TlsRedis {
  readonly pki: TestPki;
  /** rediss://127.0.0.1:<port>, without credentials. */
  readonly url: string;
  stop(): Promise<void>;
}

/** A redis-server of its own that speaks only TLS (certificate from a fresh CA) and knows only REDIS_USER. */
export async function startTlsRedis(): Promise<TlsRedis> {
  const processes = new RedisProcesses(await mkdtemp(join(tmpdir(), 'flux-tls-redis-')));
  try {
    const pki = await makeTestPki(processes.dir);
    const port = await freePort();
    await processes.start(port, [
      '--port', '0',
      '--tls-port', String(port),
      '--tls-cert-file', pki.serverCertFile,
      '--tls-key-file', pki.serverKeyFile,
      '--tls-ca-cert-file', pki.caFile,
      '--tls-auth-clients', 'optional',
      // One argument per word: a quoted 'default off' would be read as a user name with a space.
      '--user', 'default', 'off',
      '--user', REDIS_USER.username, 'on', `>${REDIS_USER.password}`, '~*', '&*', '+@all',
    ]); // prettier-ignore
    return { pki, url: `rediss://127.0.0.1:${port}`, stop: () => processes.stop() };
  } catch (error) {
    await processes.stop();
    throw error;
  }
}

export interface RedisClusterServers {
  /** redis://127.0.0.1:<port> of the first master: a seed node. */
  readonly url: string;
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

/** Three masters with --cluster-enabled, joined by `redis-cli --cluster create` (no replicas). */
export async function startRedisCluster(): Promise<RedisClusterServers> {
  const processes = new RedisProcesses(await mkdtemp(join(tmpdir(), 'flux-redis-cluster-')));
  try {
    const ports: number[] = [];
    while (ports.length < 3) {
      const port = await clusterNodePort();
      if (!ports.includes(port)) ports.push(port);
    }
    for (const port of ports) {
      await processes.start(port, ['--port', String(port), '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']);
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes']);
    await waitForClusterOk(ports);
    return { url: `redis://127.0.0.1:${ports[0]}`, ports, stop: () => processes.stop() };
  } catch (error) {
    await processes.stop();
    throw error;
  }
}

/**
 * A port for a cluster node: it also listens on port + 10000 (the cluster bus), so the pair
 * must be free, below the kernel's ephemeral range where freePort's ports come from.
 */
async function clusterNodePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if ((await bindable(port)) && (await bindable(port + 10_000))) return port;
  }
}

const bindable = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** Every node reports cluster_state:ok (the slot map has reached all of them). */
async function waitForClusterOk(ports: readonly number[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(
      ports.map(async (port) => (await run('redis-cli', ['-p', String(port), 'cluster', 'info'])).stdout.includes('cluster_state:ok')),
    );
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`the Redis Cluster on ${ports.join(', ')} was not ok within ${timeoutMs} ms`);
    await delay(100);
  }
}

export interface RedisSentinelServers {
  /** redis://127.0.0.1:<port> of the sentinel. */
  readonly url: string;
  readonly master: string;
  readonly masterPort: number;
  stop(): Promise<void>;
}

/** A master and one sentinel monitoring it (quorum 1) under the name `flux-master`. */
export async function startRedisSentinel(): Promise<RedisSentinelServers> {
  const processes = new RedisProcesses(await mkdtemp(join(tmpdir(), 'flux-redis-sentinel-')));
  try {
    const masterPort = await freePort();
    const sentinelPort = await freePort();
    await processes.start(masterPort, ['--port', String(masterPort)]);
    // A sentinel rewrites its configuration file, so it gets one of its own.
    const config = join(processes.dir, 'sentinel.conf');
    await writeFile(config, `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor flux-master 127.0.0.1 ${masterPort} 1\n`);
    await processes.start(sentinelPort, [], [config, '--sentinel']);
    return { url: `redis://127.0.0.1:${sentinelPort}`, master: 'flux-master', masterPort, stop: () => processes.stop() };
  } catch (error) {
    await processes.stop();
    throw error;
  }
}
