import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, signalProcessGroup } from '@flux/core/tooling';
import { describe, expect, it } from 'vitest';
import { NPM_START_FLAGS, NPM_START_SCRIPT, scrubbedEnv, startReadyFluxProcess, startServerProcess, waitUntilReady } from '../deployment-process.js';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

/** A stand-in server: `node -e <script>`, so these tests need no Flux start-up. */
const startScript = (script: string) => startServerProcess('stand-in', process.execPath, ['-e', script], { cwd: process.cwd(), env: process.env });

describe('deployment process', () => {
  it('fails fast with the output tail when the server exits before it is ready', async () => {
    const server = startScript(`console.error('config is wrong: PORT'); process.exit(3);`);
    const port = await freePort();
    await expect(waitUntilReady(`http://127.0.0.1:${port}`, 60_000, server)).rejects.toThrow(
      /exited before it was ready \(code 3[\s\S]*config is wrong: PORT/,
    );
  });

  it('waits until GET /ready answers 200', async () => {
    const port = await freePort();
    // Not ready for the first two asks: the wait goes on past an answer other than 200.
    const server = startScript(`
      let asks = 0;
      require('node:http').createServer((_, res) => { res.statusCode = ++asks > 2 ? 200 : 503; res.end(); }).listen(${port}, '127.0.0.1');
    `);
    try {
      await waitUntilReady(`http://127.0.0.1:${port}`, 30_000, server);
    } finally {
      await server.stop();
    }
  });

  it('stops the whole group, with SIGKILL when SIGTERM is ignored', async () => {
    const server = startScript(`
      process.on('SIGTERM', () => {});
      require('node:child_process').spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { stdio: 'inherit' });
      console.log('started');
      setInterval(() => {}, 1000);
    `);
    await expect.poll(() => server.output(), { timeout: 10_000 }).toContain('started');
    expect(await server.stop('SIGTERM', 500)).toBeNull();
    expect((await server.exit).signal).toBe('SIGKILL');
    expect(signalProcessGroup(server.pid, 0)).toBe(false);
  });

  it('keeps Flux, Node and Vitest settings of the harness out of the server environment', () => {
    const saved = { ...process.env };
    Object.assign(process.env, { FLUX_ADMIN_TOKEN: 'secret', NODE_OPTIONS: '--inspect', VITEST_POOL_ID: '1', KAFKA_BROKERS: 'k:1' });
    try {
      const env = scrubbedEnv({ PORT: '1234', KAFKA_BROKERS: undefined });
      expect(env).toMatchObject({ PORT: '1234' });
      for (const name of ['FLUX_ADMIN_TOKEN', 'NODE_OPTIONS', 'VITEST_POOL_ID', 'KAFKA_BROKERS']) expect(env[name]).toBeUndefined();
    } finally {
      process.env = saved;
    }
  });

  it('runs the embedded server as npm start does: the same command, compiled, stopped by a signal to its pid', async () => {
    const { scripts } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.start).toBe(['exec node', ...NPM_START_FLAGS, NPM_START_SCRIPT].join(' '));
    const dataDir = await mkdtemp(join(tmpdir(), 'flux-npm-start-'));
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const env = scrubbedEnv({ PORT: String(port), FLUX_DATA_DIR: dataDir });
    const server = await startReadyFluxProcess({ kind: 'embedded', root: REPO_ROOT, env, baseUrl, asNpmStart: true });
    try {
      expect((await fetch(`${baseUrl}/api/state/entities`)).status).toBe(200);
    } finally {
      expect(await server.stop('SIGTERM', 15_000)).toBe(0);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
