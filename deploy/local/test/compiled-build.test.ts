/**
 * `npm run build` output runs as the container image runs it: `node dist/<app>/main.js`, with no
 * TypeScript loader and no writable temporary directory (TMPDIR points nowhere). The embedded
 * server serves the API and the dashboard; the three distributed roles, against the
 * environment's Kafka and Redis, apply a write end to end (gRPC, the Redis Lua scripts, Kafka).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@flux/core/tooling';
import { startServerProcess, type ServerProcess } from '../deployment-process.js';
import { localServices, removeDeploymentData } from '../local-services.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const APPS = ['flux', 'reducer', 'ingest-gateway', 'query-gateway'] as const;
const READY_TIMEOUT_MS = 90_000;
const started: ServerProcess[] = [];

/** The environment a compiled process gets: no loader flags, no usable TMPDIR. */
function compiledEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _nodeOptions, ...rest } = process.env;
  return { ...rest, TMPDIR: '/nonexistent/flux-tmp', HOST: '127.0.0.1', FLUX_LOG_LEVEL: 'warn', ...env };
}

function startCompiled(app: (typeof APPS)[number], env: Record<string, string>): ServerProcess {
  const server = startServerProcess(`dist ${app}`, process.execPath, [join('dist', app, 'main.js')], { cwd: ROOT, env: compiledEnv(env) });
  started.push(server);
  return server;
}

async function waitReady(server: ServerProcess, url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (server.exited()) throw new Error(`${server.name} exited before ${url} was ready:\n${server.output()}`);
    const status = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${READY_TIMEOUT_MS} ms:\n${server.output()}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
}

async function publish(baseUrl: string, entityId: string, properties: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${baseUrl}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      stream: 'build.smoke',
      source: 'compiled-build-test',
      timestamp: Date.now(),
      payload: { entity_id: entityId, properties },
    }),
  });
  expect(response.status, await response.text()).toBeLessThan(300);
}

/** The entity once it is visible (reads follow writes asynchronously in the cluster). */
async function readEntity(baseUrl: string, entityId: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const response = await fetch(`${baseUrl}/api/state/entities/${encodeURIComponent(entityId)}`);
    if (response.status === 200) return (await response.json()) as Record<string, unknown>;
    expect(response.status).toBe(404);
    if (Date.now() > deadline) throw new Error(`${entityId} not visible after 30 s`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
}

beforeAll(async () => {
  await promisify(execFile)(process.execPath, ['scripts/build.mjs'], { cwd: ROOT });
}, 120_000);

afterAll(async () => {
  await Promise.all(started.map((server) => server.stop('SIGKILL', 0)));
});

describe('npm run build', () => {
  it('emits JavaScript bundles that load no TypeScript loader', async () => {
    for (const app of APPS) {
      const bundle = await readFile(join(ROOT, 'dist', app, 'main.js'), 'utf8');
      expect(bundle).not.toMatch(/from ["']tsx|import\(["']tsx/);
      expect(bundle).not.toMatch(/from ["']@flux\//);
    }
  });

  it('runs the embedded server from dist/flux/main.js, API and dashboard', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'flux-dist-'));
    try {
      const port = await freePort();
      const baseUrl = `http://127.0.0.1:${port}`;
      const server = startCompiled('flux', { PORT: String(port), FLUX_DATA_DIR: dataDir });
      await waitReady(server, `${baseUrl}/ready`);
      await publish(baseUrl, 'build/smoke-1', { compiled: true });
      expect(await readEntity(baseUrl, 'build/smoke-1')).toMatchObject({ properties: { compiled: true } });
      const page = await fetch(`${baseUrl}/`);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(await server.stop('SIGTERM', 20_000)).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('runs the reducer and both gateways from dist/ against Kafka and Redis', async () => {
    const services = localServices();
    const suffix = `${process.pid}-${Date.now()}`;
    const topic = `flux-build-smoke-${suffix}`;
    const keyPrefix = `flux-build-smoke-${suffix}:`;
    const [grpcPort, metricsPort, ingestPort, queryPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const shared = {
      KAFKA_BROKERS: services.kafkaBrokers,
      REDIS_URL: services.redisUrl,
      FLUX_KAFKA_TOPIC: topic,
      FLUX_KAFKA_REPLICATION_FACTOR: '1',
      FLUX_REDIS_KEY_PREFIX: keyPrefix,
      FLUX_PARTITIONS: '2',
      FLUX_SHARD_ADDRESSES: `127.0.0.1:${grpcPort}`,
    };
    try {
      const reducer = startCompiled('reducer', {
        ...shared,
        SHARD_INDEX: '0',
        SHARD_COUNT: '1',
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: String(grpcPort),
        FLUX_METRICS_PORT: String(metricsPort),
      });
      const ingest = startCompiled('ingest-gateway', { ...shared, PORT: String(ingestPort) });
      const query = startCompiled('query-gateway', { ...shared, PORT: String(queryPort), FLUX_INGEST_URL: `http://127.0.0.1:${ingestPort}` });
      await waitReady(reducer, `http://127.0.0.1:${metricsPort}/ready`);
      await waitReady(ingest, `http://127.0.0.1:${ingestPort}/ready`);
      const baseUrl = `http://127.0.0.1:${queryPort}`;
      await waitReady(query, `${baseUrl}/ready`);
      await publish(baseUrl, 'build/smoke-2', { roles: 3 });
      expect(await readEntity(baseUrl, 'build/smoke-2')).toMatchObject({ properties: { roles: 3 } });
      for (const server of [query, ingest, reducer]) expect(await server.stop('SIGTERM', 30_000), server.output()).toBe(0);
    } finally {
      await removeDeploymentData(services, topic, keyPrefix);
    }
  }, 150_000);
});
