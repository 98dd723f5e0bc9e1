import { randomUUID } from 'node:crypto';
import { createConnection } from 'node:net';
import type { Redis } from 'ioredis';
import { EnvReader, readRedisConnection, type RedisConnectionSettings } from '@flux/core';
import { connectRedis } from '../src/index.js';

// Fixtures clean up with the library's own tooling helpers.
export { deleteKeysWithPrefix, deleteRedisKeys } from '../src/index.js';

/** Tests share one Redis (maybe with other suites and other people): every fixture has its own prefix. */
export const uniquePrefix = (): string => `flux-test:${randomUUID()}:`;

/** The Redis the environment names (REDIS_URL and the FLUX_REDIS_* connection variables). */
export function redisSettingsFromEnv(): RedisConnectionSettings {
  const read = new EnvReader(process.env);
  const settings = readRedisConnection(read);
  if (read.problems.length > 0) throw new Error(read.problems.join('; '));
  return settings;
}

export const connect = (url: string): Promise<Redis> => connectRedis(url, { connectionName: 'flux-redis-tests' });

/** One command as MONITOR reports it; arguments as raw bytes (keys may hold any UTF-8). */
export type MonitoredCommand = readonly Buffer[];

/**
 * MONITOR over a plain socket (ioredis' monitor mode trips over replies still in flight when it
 * disconnects on a busy shared server). MONITOR also reports the commands scripts run.
 */
export async function monitorRedis(url: string, onCommand: (args: MonitoredCommand) => void): Promise<{ stop(): void }> {
  const { hostname, port } = new URL(url);
  const socket = createConnection({ host: hostname, port: Number(port || 6379) });
  let pending = '';
  let started!: () => void;
  const ready = new Promise<void>((resolve, reject) => {
    started = resolve;
    socket.once('error', reject);
  });
  socket.setEncoding('latin1'); // one char per byte: escapes are ASCII, raw bytes survive
  socket.on('data', (chunk: string) => {
    pending += chunk;
    let end: number;
    while ((end = pending.indexOf('\r\n')) >= 0) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 2);
      if (line === '+OK') started();
      else if (line.startsWith('+')) onCommand(parseMonitorLine(line));
    }
  });
  socket.write('MONITOR\r\n');
  await ready;
  return { stop: () => socket.destroy() };
}

/** `+<time> [<db> <client>] "arg" "arg" ...`, each argument escaped as Redis' sdscatrepr does. */
function parseMonitorLine(line: string): Buffer[] {
  const args: Buffer[] = [];
  let i = line.indexOf('"');
  while (i >= 0 && i < line.length) {
    const bytes: number[] = [];
    i++; // opening quote
    while (i < line.length && line[i] !== '"') {
      if (line[i] === '\\') {
        const next = line[i + 1]!;
        if (next === 'x') {
          bytes.push(parseInt(line.slice(i + 2, i + 4), 16));
          i += 4;
          continue;
        }
        const escapes: Record<string, number> = { n: 10, r: 13, t: 9, a: 7, b: 8 };
        bytes.push(escapes[next] ?? next.charCodeAt(0));
        i += 2;
        continue;
      }
      bytes.push(line.charCodeAt(i));
      i++;
    }
    args.push(Buffer.from(bytes));
    i = line.indexOf('"', i + 1);
  }
  return args;
}
