/**
 * A graceful stop of `npm start` under load: SIGTERM (what a terminal, systemd or Kubernetes
 * sends) drains the requests in flight instead of killing the server. Every request a client
 * sent gets an answer (200, or 503 once the server is closing), the server logs its stop, and
 * every acknowledged event is still there after a restart on the same data directory.
 *
 * Embedded only: it starts `npm start` itself, the way a user does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processGroupGone, stopProcessGroup, trackProcessGroup } from '@flux/core/tooling';
import { deploymentKindName, freePort, REPO_ROOT } from './support/deployment.js';
import { get, waitFor, waitForEntity, type Target } from './support/client.js';

const CONNECTIONS = 4;
/** Events per batch: enough work per request that the event loop is busy when the signal lands. */
const BATCH = 1_000;
/** Bound of the load: requests per connection. */
const MAX_REQUESTS = 400;
/** Acknowledged batches before the signal, so the server is busy and has data to keep. */
const ACKED_BEFORE_SIGNAL = 12;

interface Server {
  readonly child: ChildProcess;
  readonly target: Target;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

function startNpm(port: number, dataDir: string): Server {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), FLUX_DATA_DIR: dataDir, FLUX_LOG_LEVEL: 'info' };
  for (const name of ['NODE_OPTIONS', 'VITEST', 'VITEST_WORKER_ID', 'VITEST_POOL_ID', 'NODE_ENV']) delete env[name];
  // Its own process group, like a service manager's: the test signals only the npm process.
  const child = spawn('npm', ['start'], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  trackProcessGroup(child.pid!);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  return { child, target: { baseUrl: `http://127.0.0.1:${port}` }, exited, output: () => output };
}

async function waitReady(server: Server): Promise<void> {
  await waitFor(async () => (await get(server.target, '/ready', { timeoutMs: 1_000 })).status === 200, {
    timeoutMs: 45_000,
    intervalMs: 100,
    what: `npm start to be ready; output:\n${server.output()}`,
  });
}

type Outcome = { status: number } | { error: string };

/** One POST over a keep-alive connection; resolves with its status or the network error. */
function postBatch(agent: Agent, port: number, body: string): Promise<Outcome> {
  return new Promise((resolveOutcome) => {
    const req = httpRequest(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/events/batch',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        response.once('end', () => resolveOutcome({ status: response.statusCode ?? 0 }));
        response.once('error', (error) => resolveOutcome({ error: (error as NodeJS.ErrnoException).code ?? error.message }));
      },
    );
    req.once('error', (error) => resolveOutcome({ error: (error as NodeJS.ErrnoException).code ?? error.message }));
    req.setTimeout(30_000, () => req.destroy(new Error('client timeout')));
    req.end(body);
  });
}

const entityOf = (connection: number, index: number): string => `shutdown/c${connection}/e${index}`;

function batchBody(connection: number, sequence: number): string {
  const timestamp = Date.now();
  const events = Array.from({ length: BATCH }, (_, index) => ({
    stream: 'shutdown.test',
    source: 'shutdown-test',
    timestamp,
    payload: { entity_id: entityOf(connection, index), properties: { sequence, padding: 'x'.repeat(40) } },
  }));
  return JSON.stringify({ events });
}

const embedded = deploymentKindName() === 'embedded';
let dataDir: string | undefined;
let server: Server | undefined;

afterAll(async () => {
  if (server?.child.pid !== undefined) await stopProcessGroup(server.child.pid, 'SIGKILL', 1_000);
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

describe.skipIf(!embedded)('stopping npm start under load', () => {
  it.each([
    { how: 'SIGTERM to the npm process (a service manager)', group: false, signal: 'SIGTERM' as const },
    { how: 'SIGINT to the process group (Ctrl-C in a terminal)', group: true, signal: 'SIGINT' as const },
  ])(
    '$how: answers every request it received, logs a graceful stop, and keeps every acknowledged event',
    async ({ group, signal: stopSignal }) => {
      if (server?.child.pid !== undefined) await stopProcessGroup(server.child.pid, 'SIGKILL', 1_000);
      if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
      dataDir = await mkdtemp(join(tmpdir(), 'flux-shutdown-'));
      const port = await freePort();
      server = startNpm(port, dataDir);
      await waitReady(server);

      const outcomes: Outcome[] = [];
      const lastAcked = new Array<number>(CONNECTIONS).fill(0);
      let acked = 0;
      let signalled = false;
      let signal!: () => void;
      const signalDue = new Promise<void>((resolveSignal) => (signal = resolveSignal));
      const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
      const clients = Array.from({ length: CONNECTIONS }, async (_, connection) => {
        for (let sequence = 1; sequence <= MAX_REQUESTS; sequence += 1) {
          const outcome = await postBatch(agent, port, batchBody(connection, sequence));
          // Refused connections were never sent: the server had stopped listening.
          if ('error' in outcome && outcome.error === 'ECONNREFUSED') return;
          outcomes.push(outcome);
          if ('status' in outcome && outcome.status === 200) {
            lastAcked[connection] = sequence;
            acked += 1;
            if (acked >= ACKED_BEFORE_SIGNAL) signal();
          }
          // Once the server says it is closing, this client stops (as a retrying client would back off).
          if (!('status' in outcome) || outcome.status !== 200) return;
        }
      });
      await signalDue;
      signalled = process.kill(group ? -server.child.pid! : server.child.pid!, stopSignal);
      const exit = await server.exited;
      expect(signalled).toBe(true);
      // npm's exit is not enough: the server under it must be gone too (not orphaned).
      expect(await processGroupGone(server.child.pid!, 10_000), `the server outlived npm:\n${server.output().slice(-2_000)}`).toBe(true);
      await Promise.all(clients);
      agent.destroy();
      const output = server.output();

      const unanswered = outcomes.filter((outcome) => 'error' in outcome);
      const statuses = new Set(outcomes.flatMap((outcome) => ('status' in outcome ? [outcome.status] : [])));
      expect({ unanswered, statuses: [...statuses].filter((status) => status !== 200 && status !== 503) }, output.slice(-4_000)).toEqual({
        unanswered: [],
        statuses: [],
      });
      expect(output).toMatch(/"msg":"stopped gracefully"/);
      expect(exit.code).toBe(0);

      // Every acknowledged batch survived: each entity holds its connection's last acknowledged sequence.
      server = startNpm(port, dataDir);
      await waitReady(server);
      for (let connection = 0; connection < CONNECTIONS; connection += 1) {
        if (lastAcked[connection] === 0) continue;
        for (const index of [0, BATCH - 1]) {
          const entity = await waitForEntity(
            server.target,
            entityOf(connection, index),
            (found) => found.properties.sequence >= lastAcked[connection]!,
          );
          expect(entity.properties.sequence).toBe(lastAcked[connection]);
        }
      }
    },
    120_000,
  );
});
