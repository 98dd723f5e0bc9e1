/**
 * `npm run start:cluster`: the distributed topology on one machine. Kafka and Redis come from
 * KAFKA_BROKERS / REDIS_URL, or are started with services.sh. Then 3 reducer shards, 1 ingest
 * gateway and 2 query gateways run as separate processes, and a TCP balancer serves the one
 * public PORT. Like a Kubernetes controller it restarts a process that dies. Ctrl-C stops all.
 *
 * With FLUX_REDUCER_ASSIGNMENT=elastic the reducers share the partitions at run time and the
 * gateways route by the partition map; FLUX_CLUSTER_SHARDS may then be 0, for a caller that
 * starts and stops reducers itself (the scaling test).
 *
 * FLUX_CLUSTER_STATE_FILE, when set, receives the processes' names, pids and metrics URLs (see
 * cluster-state.ts). Every reducer serves its metrics on a port of its own (FLUX_METRICS_PORT).
 * FLUX_CLUSTER_NODE_ARGS, when set, are extra Node.js flags for every process (space-separated),
 * e.g. `--cpu-prof --cpu-prof-dir=/tmp/flux-prof`: Node refuses --cpu-prof in NODE_OPTIONS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOrExit } from '@flux/core';
import { freePort, waitUntilReady } from '@flux/core/tooling';
import { writeClusterState } from './cluster-state.js';
import { parseLauncherSettings } from './launcher-settings.js';
import { localServices } from './local-services.js';
import { TcpBalancer } from './tcp-balancer.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const settings = loadOrExit('flux cluster', () => parseLauncherSettings(process.env));

const log = (message: string): void => {
  process.stderr.write(`[cluster] ${message}\n`);
};

interface ProcessSpec {
  readonly name: string;
  readonly app: string;
  readonly env: Record<string, string>;
  /** Where it serves GET /metrics. */
  readonly metricsUrl: string;
}

class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private readonly metrics = new Map<string, string>();
  private stopping = false;

  constructor(
    private readonly baseEnv: NodeJS.ProcessEnv,
    private readonly stateFile: string | undefined,
  ) {}

  start(spec: ProcessSpec): void {
    const child = spawn(process.execPath, [...settings.nodeArgs, '--import', 'tsx', resolve(root, spec.app)], {
      cwd: root,
      env: { ...this.baseEnv, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.set(spec.name, child);
    this.metrics.set(spec.name, spec.metricsUrl);
    this.writeState();
    const prefix = (stream: NodeJS.ReadableStream, out: NodeJS.WritableStream): void => {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) out.write(`[${spec.name}] ${line}\n`);
      });
    };
    prefix(child.stdout!, process.stdout);
    prefix(child.stderr!, process.stderr);
    child.once('exit', (code, signal) => {
      if (this.children.get(spec.name) === child) this.children.delete(spec.name);
      if (this.stopping) return;
      log(`${spec.name} exited (${signal ?? `code ${code}`}); restarting in ${settings.restartDelayMs} ms`);
      setTimeout(() => {
        if (!this.stopping) this.start(spec);
      }, settings.restartDelayMs);
    });
  }

  /** A second Ctrl-C: no more waiting. */
  kill(): void {
    for (const child of this.children.values()) child.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const exits = [...this.children.values()].map(
      (child) =>
        new Promise<void>((resolveExit) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolveExit();
          const timer = setTimeout(() => child.kill('SIGKILL'), settings.stopGraceMs);
          child.once('exit', () => {
            clearTimeout(timer);
            resolveExit();
          });
          child.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
  }

  private writeState(): void {
    if (this.stateFile === undefined) return;
    const processes: Record<string, number> = {};
    for (const [name, child] of this.children) if (child.pid !== undefined) processes[name] = child.pid;
    writeClusterState(this.stateFile, { supervisor: process.pid, processes, metrics: Object.fromEntries(this.metrics) });
  }
}

const { kafkaBrokers, redisUrl } = localServices();
// The public port was picked (and released) by whoever started this cluster, in another
// process: none of the cluster's own processes may be given it (freePort never repeats a port
// within this process).
const notPublic = new Set([settings.publicPort]);
const ownPort = (): Promise<number> => freePort(notPublic, 'launcher');
const ownPorts = (count: number): Promise<number[]> => Promise.all(Array.from({ length: count }, ownPort));
const ingestPort = await ownPort();
const grpcPorts = await ownPorts(settings.shardCount);
const metricsPorts = await ownPorts(settings.shardCount);
const queryPorts = await ownPorts(settings.queryGateways);
// Elastic gateways find the reducers in the partition map; static ones are given the shard list.
const shardDiscovery: Record<string, string> = settings.elastic
  ? {}
  : { FLUX_SHARD_ADDRESSES: grpcPorts.map((port) => `127.0.0.1:${port}`).join(',') };

const baseEnv: NodeJS.ProcessEnv = {
  ...process.env,
  KAFKA_BROKERS: kafkaBrokers,
  REDIS_URL: redisUrl,
  FLUX_PARTITIONS: process.env.FLUX_PARTITIONS ?? '12',
  HOST: '127.0.0.1',
};
const supervisor = new Supervisor(baseEnv, settings.stateFile);

for (let shard = 0; shard < settings.shardCount; shard++) {
  supervisor.start({
    name: `reducer-${shard}`,
    app: 'apps/reducer/src/main.ts',
    env: {
      // Elastic reducers share the partitions among themselves and publish where each is served.
      ...(settings.elastic
        ? { FLUX_REDUCER_ID: `reducer-${shard}`, FLUX_ADVERTISED_HOST: '127.0.0.1' }
        : { SHARD_INDEX: String(shard), SHARD_COUNT: String(settings.shardCount) }),
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: String(grpcPorts[shard]),
      FLUX_METRICS_PORT: String(metricsPorts[shard]),
    },
    metricsUrl: `http://127.0.0.1:${metricsPorts[shard]}/metrics`,
  });
}
supervisor.start({
  name: 'ingest-gateway',
  app: 'apps/ingest-gateway/src/main.ts',
  env: { PORT: String(ingestPort), ...shardDiscovery },
  metricsUrl: `http://127.0.0.1:${ingestPort}/metrics`,
});
queryPorts.forEach((port, index) =>
  supervisor.start({
    name: `query-gateway-${index}`,
    app: 'apps/query-gateway/src/main.ts',
    env: { PORT: String(port), ...shardDiscovery, FLUX_INGEST_URL: `http://127.0.0.1:${ingestPort}` },
    metricsUrl: `http://127.0.0.1:${port}/metrics`,
  }),
);

const balancer = new TcpBalancer(queryPorts.map((port) => ({ host: '127.0.0.1', port })));
const listening = await balancer.listen(settings.publicPort, settings.host);

let stopping = false;
const shutdown = async (signal: string, code = 0): Promise<void> => {
  if (stopping) {
    log(`${signal} again: killing every process`);
    supervisor.kill();
    process.exit(1);
  }
  stopping = true;
  log(`${signal}: stopping (again to kill at once)`);
  await balancer.close();
  await supervisor.stop();
  process.exit(code);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

try {
  await Promise.all([
    waitUntilReady(`http://127.0.0.1:${ingestPort}`, 120_000),
    ...queryPorts.map((port) => waitUntilReady(`http://127.0.0.1:${port}`, 120_000)),
  ]);
  log(
    `Flux cluster ready on http://localhost:${listening} (${settings.shardCount} ${settings.elastic ? 'elastic reducers' : 'reducer shards'}, 1 ingest gateway, ${settings.queryGateways} query gateways)`,
  );
} catch (error) {
  log(error instanceof Error ? error.message : String(error));
  await shutdown('startup failure', 1);
}
