/**
 * Kafka and Redis of the chaos run's own, started with deploy/local/services.sh in a private
 * state directory (its own ports and data), so restarting them never touches the services
 * other runs and tests share. Removed with their directory at the end.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseServicesOutput, type LocalServices } from '../../../deploy/local/local-services.js';

const run = promisify(execFile);
const SERVICES_SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../deploy/local/services.sh');

export class PrivateServices {
  private constructor(
    readonly dir: string,
    readonly services: LocalServices,
  ) {}

  /** `dir` must be a fresh directory of this run. */
  static async start(dir: string): Promise<PrivateServices> {
    return new PrivateServices(dir, parseServicesOutput(await PrivateServices.script(dir, 'up')));
  }

  private static async script(dir: string, ...args: string[]): Promise<string> {
    const { REDIS_PORT: _redisPort, KAFKA_PORT: _kafkaPort, ...env } = process.env;
    const { stdout } = await run('bash', [SERVICES_SCRIPT, ...args], {
      env: { ...env, FLUX_SERVICES_DIR: dir },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 300_000,
    });
    return stdout;
  }

  /** kill -9 of one service, then services.sh up starts it again on the same port and data. */
  async restart(service: 'redis' | 'kafka'): Promise<number> {
    const pidFile = service === 'redis' ? join(this.dir, 'redis/redis.pid') : join(this.dir, 'kafka/kafka.pid');
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) throw new Error(`no ${service} pid in ${pidFile}`);
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 30_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    const restarted = PrivateServices.script(this.dir, 'up');
    const up = parseServicesOutput(await restarted);
    if (up.kafkaBrokers !== this.services.kafkaBrokers || up.redisUrl !== this.services.redisUrl) {
      throw new Error(`${service} came back elsewhere (${up.kafkaBrokers}, ${up.redisUrl})`);
    }
    return pid;
  }

  /** Copies Kafka's and Redis' own logs to `dest` (they go with the directory on stop). */
  async keepLogs(dest: string): Promise<void> {
    for (const logs of ['kafka/logs', 'redis/redis.log']) {
      await cp(join(this.dir, logs), join(dest, logs), { recursive: true }).catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    await PrivateServices.script(this.dir, 'down', '--purge').catch((error: unknown) => {
      process.stderr.write(`could not stop the chaos run's Kafka and Redis: ${String(error)}\n`);
    });
    await rm(this.dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
