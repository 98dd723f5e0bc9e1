import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, signalProcessGroup, waitUntilReady, watchedChild } from '@flux/core/tooling';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');

/** The real query-gateway process, with a stand-in ingest gateway that answers /ready. */
export class QueryGatewayProcess {
  private readonly output: string[] = [];

  private constructor(
    readonly baseUrl: string,
    private readonly child: ChildProcess,
    private readonly ingest: HttpServer,
  ) {
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => this.output.push(chunk.toString('utf8')));
  }

  /**
   * Starts the gateway over Redis at `redisUrl` with keys under `keyPrefix` and `env` on top
   * (FLUX_SHARD_ADDRESSES or FLUX_REDUCER_ASSIGNMENT ...), and waits until it is ready.
   */
  static async start(options: {
    readonly redisUrl: string;
    readonly keyPrefix: string;
    readonly partitionCount: number;
    readonly env: NodeJS.ProcessEnv;
  }): Promise<QueryGatewayProcess> {
    // The gateway is ready only once its ingest gateway is: a stand-in answers /ready.
    const ingest = createHttpServer((_request, response) => response.end('{}'));
    await new Promise<void>((resolveListen) => ingest.listen(0, '127.0.0.1', resolveListen));
    const ingestPort = (ingest.address() as { port: number }).port;

    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/query-gateway/src/main.ts')], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL: options.redisUrl,
        FLUX_REDIS_KEY_PREFIX: options.keyPrefix,
        // Never contacted: the gateway opens Kafka only to delete a namespace.
        KAFKA_BROKERS: '127.0.0.1:9',
        FLUX_PARTITIONS: String(options.partitionCount),
        FLUX_INGEST_URL: `http://127.0.0.1:${ingestPort}`,
        FLUX_LOG_LEVEL: 'info',
        ...options.env,
      },
    });
    const gateway = new QueryGatewayProcess(`http://127.0.0.1:${port}`, child, ingest);
    await waitUntilReady(
      gateway.baseUrl,
      60_000,
      watchedChild('the query gateway', child, () => gateway.output.join('')),
    );
    return gateway;
  }

  /** What the process printed so far. */
  get logs(): string {
    return this.output.join('');
  }

  async stop(): Promise<void> {
    if (this.child.pid !== undefined && this.child.exitCode === null) {
      const exited = new Promise((resolveExit) => this.child.once('exit', resolveExit));
      signalProcessGroup(this.child.pid, 'SIGKILL');
      await exited;
    }
    await new Promise((resolveClose) => this.ingest.close(resolveClose));
  }
}
