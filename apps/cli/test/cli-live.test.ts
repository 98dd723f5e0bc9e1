/** `flux` end to end: watch, namespaces with tokens (public mode), serve, completion and the npx bin. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, publicEnv, REPO_ROOT, startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from '../../../apps/flux/test/support/deployment.js';
import { unique, waitFor } from '../../../apps/flux/test/support/client.js';
import { FluxClient } from '@flux/client';
import { cleanEnv, collect, jsonOf, runFlux, runShell, spawnFlux, stderrMatching } from './support/run-flux.js';

const ADMIN_TOKEN = 'cli-suite-admin';
const hasZsh = existsSync('/usr/bin/zsh') || existsSync('/bin/zsh');
let deployment: Deployment;
let flux: FluxClient;

beforeAll(async () => {
  deployment = await startDeployment({ env: publicEnv(ADMIN_TOKEN) });
  flux = new FluxClient({ url: deployment.baseUrl, adminToken: ADMIN_TOKEN });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await deployment?.dispose();
});

const env = (extra: Record<string, string> = {}) => ({ env: { FLUX_URL: deployment.baseUrl, ...extra } });

describe('namespaces and tokens (public mode)', () => {
  it('create prints the token; FLUX_TOKEN and --token publish with it; get and delete', async () => {
    const name = unique('clins');
    const refused = await runFlux(['namespaces', 'create', name], env());
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/HTTP 401 FLUX_UNAUTHORIZED/);

    const created = await runFlux(['namespaces', 'create', name], env({ FLUX_ADMIN_TOKEN: ADMIN_TOKEN }));
    expect(created.code).toBe(0);
    const { token } = jsonOf(created) as { token: string };
    expect(token).toEqual(expect.any(String));

    const anonymous = await runFlux(['publish', 'sensors', 'cli', `${name}/a`, '{"n":1}'], env());
    expect(anonymous.code).toBe(2);
    const [byEnv, byFlag, elsewhere] = await Promise.all([
      runFlux(['publish', 'sensors', 'cli', `${name}/a`, '{"n":1}'], env({ FLUX_TOKEN: token })),
      runFlux(['publish', 'sensors', 'cli', `${name}/b`, '{"n":2}', '--token', token], env({ FLUX_TOKEN: 'wrong' })),
      runFlux(['publish', 'sensors', 'cli', `${unique('other')}/a`, '{"n":1}'], env({ FLUX_TOKEN: token })),
    ]);
    expect([byEnv.code, byFlag.code]).toEqual([0, 0]);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(/HTTP 403 FLUX_FORBIDDEN/);

    await waitFor(async () => (await flux.namespaces.get(name))?.entityCount === 2, { what: 'entity count 2' });
    const shown = await runFlux(['namespaces', 'get', name], env());
    expect(jsonOf(shown)).toMatchObject({ name, entityCount: 2 });
    const deleted = await runFlux(['namespaces', 'delete', name, '--admin-token', ADMIN_TOKEN], env());
    expect(jsonOf(deleted)).toEqual({ deleted: name });
    const gone = await runFlux(['namespaces', 'get', name], env());
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain(`namespace ${name} not found`);
  });
});

describe('watch', () => {
  it('prints NDJSON of the followed ids on a pipe and stops after --count', async () => {
    const name = unique('cliw');
    const { token } = await flux.namespaces.create(name);
    const owner = new FluxClient({ url: deployment.baseUrl, token });
    const child = spawnFlux(['watch', `${name}/a`, '--count', '3'], env());
    const done = collect(child);
    child.stdin.end();
    await stderrMatching(child, /watching/);
    await owner.publish({ entityId: `${name}/other`, properties: { x: 1 } });
    await owner.publish({ entityId: `${name}/a`, properties: { t: 1, u: 'C' } });
    await owner.delete(`${name}/a`);
    const run = await done;
    expect(run.code).toBe(0);
    const messages = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(messages).toEqual([
      { type: 'state_update', entity_id: `${name}/a`, property: 't', value: 1, timestamp: expect.any(String), position: expect.any(String) },
      { type: 'state_update', entity_id: `${name}/a`, property: 'u', value: 'C', timestamp: expect.any(String), position: expect.any(String) },
      { type: 'entity_deleted', entity_id: `${name}/a`, timestamp: expect.any(String), position: expect.any(String) },
    ]);
  });

  it('prints readable lines with --output text and follows a --prefix', async () => {
    const name = unique('cliwt');
    const { token } = await flux.namespaces.create(name);
    const owner = new FluxClient({ url: deployment.baseUrl, token });
    const child = spawnFlux(['watch', '--prefix', `${name}/room-`, '--count', '2', '--output', 'text'], env());
    const done = collect(child);
    child.stdin.end();
    await stderrMatching(child, /watching/);
    await owner.batch([
      { entityId: `${name}/hall`, properties: { t: 0 } },
      { entityId: `${name}/room-1`, properties: { t: 21.5 } },
      { entityId: `${name}/room-1`, properties: { t: null } },
    ]);
    const run = await done;
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^\\d{2}:\\d{2}:\\d{2}\\.\\d{3}  ${name}/room-1  t = 21\\.5$`));
    expect(lines[1]).toMatch(/t = \(removed\)$/);
  });

  it('--snapshot prints the entities under the prefix first, then their changes', async () => {
    const name = unique('cliws');
    const { token } = await flux.namespaces.create(name);
    const owner = new FluxClient({ url: deployment.baseUrl, token });
    await owner.batch([
      { entityId: `${name}/a`, properties: { t: 1 } },
      { entityId: `${name}/b`, properties: { t: 2 } },
    ]);
    await owner.publish({ entityId: `${name}/b`, properties: { t: 3 } });
    await waitFor(async () => (await owner.get(`${name}/b`))?.properties.t === 3, { what: 'the write to be applied' });
    const child = spawnFlux(['watch', '--prefix', `${name}/`, '--snapshot', '--count', '3'], env());
    const done = collect(child);
    child.stdin.end();
    await stderrMatching(child, /is live/);
    await owner.publish({ entityId: `${name}/a`, properties: { t: 4 } });
    const run = await done;
    expect(run.code).toBe(0);
    const messages = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((message) => message.type !== 'subscribing' && message.type !== 'subscribed');
    expect(messages).toEqual([
      expect.objectContaining({ type: 'entity_snapshot', entity_id: `${name}/a`, entity: expect.objectContaining({ properties: { t: 1 } }) }),
      expect.objectContaining({ type: 'entity_snapshot', entity_id: `${name}/b`, entity: expect.objectContaining({ properties: { t: 3 } }) }),
      expect.objectContaining({ type: 'state_update', entity_id: `${name}/a`, property: 't', value: 4 }),
    ]);
  });

  it('keeps watching across a server restart', async () => {
    const name = unique('cliwr');
    const { token } = await flux.namespaces.create(name);
    const child = spawnFlux(['watch', `${name}/a`, '--count', '1'], env());
    const done = collect(child, 60_000);
    child.stdin.end();
    await stderrMatching(child, /watching/);
    // Heard from before the restart: the watch may reconnect as soon as the server listens,
    // before the restarted server is ready and restart() returns.
    const reconnected = stderrMatching(child, /reconnected to/);
    await deployment.restart();
    await reconnected;
    await new FluxClient({ url: deployment.baseUrl, token }).publish({ entityId: `${name}/a`, properties: { after: true } });
    const run = await done;
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ type: 'state_update', entity_id: `${name}/a`, property: 'after', value: true });
    expect(run.stderr).toMatch(/connection lost: .*reconnecting in \d+\.\d s \(attempt 1\)/);
  });
});

describe('serve', () => {
  it('runs the embedded server in the flux process until SIGTERM', async () => {
    const port = await freePort();
    const dataDir = await mkdtemp(join(tmpdir(), 'flux-cli-serve-'));
    try {
      const child = spawnFlux(['serve', '--port', String(port), '--data-dir', dataDir, '--host', '127.0.0.1'], { env: { FLUX_LOG_LEVEL: 'warn' } });
      const done = collect(child, 60_000);
      child.stdin.end();
      const served = new FluxClient({ url: `http://127.0.0.1:${port}` });
      await waitFor(async () => (await served.ready()).ready, { timeoutMs: 45_000, what: 'flux serve to be ready' });
      await served.publish({ entityId: 'served/a', properties: { ok: true } });
      await waitFor(async () => (await served.get('served/a')) !== undefined);
      child.kill('SIGTERM');
      const run = await done;
      expect(run.code).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('completion and the bin', () => {
  it('bash completion completes verbs, options and sub-verbs', async () => {
    const complete = (words: string): string =>
      `COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _flux; echo "[\${COMPREPLY[*]}]"`;
    const run = await runShell(
      [
        'source <("$FLUX" completion bash)',
        complete('flux pub'),
        complete('flux --url http://x li'),
        complete('flux list --na'),
        complete('flux namespaces ""'),
        complete('flux completion z'),
      ].join('\n'),
    );
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual(['[publish]', '[list]', '[--namespace]', '[create get delete]', '[zsh]']);
  });

  // zsh is a Debian package (apt-get install zsh); CI must have it, a developer machine may not.
  it.skipIf(!hasZsh && process.env.CI !== 'true')('zsh completion completes verbs, options, sub-verbs and files (needs zsh)', async () => {
    // zsh's completion builtins, replaced by stand-ins that print what they were offered.
    const stubs =
      'compdef() { : }; _describe() { print -r -- "describe ${(P)argv[-1]}" }; compadd() { print -r -- "compadd $*" }; _files() { print files }';
    const complete = (words: string, current: number, prefix: string): string => `words=(${words}); CURRENT=${current}; PREFIX=${prefix}; _flux`;
    const script = [
      stubs,
      'source <("$FLUX" completion zsh)',
      complete('flux pub', 2, 'pub'),
      complete("flux --url x namespaces ''", 5, "''"),
      complete('flux list --na', 3, '--na'),
      complete('flux import ev', 3, 'ev'),
    ].join('\n');
    const run = await runShell(script, {}, 'zsh');
    expect(run.stderr).toBe('');
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^describe publish:Publish one event.* completion:Print a shell completion script/);
    expect(lines[1]).toBe('compadd -- --version --url --token --admin-token --json --output --timeout --help');
    expect(lines[2]).toMatch(/^describe create:Register a namespace.* get:.* delete:/);
    expect(lines[3]).toBe(
      'compadd -- --prefix --namespace --filter --limit --page-size --version --url --token --admin-token --json --output --timeout --help',
    );
    expect(lines[4]).toBe('files');
  });

  it('completion for another shell is a usage error', async () => {
    const shells = await runFlux(['completion', 'fish']);
    expect(shells.code).toBe(1);
    expect(shells.stderr).toMatch(/Allowed choices are bash, zsh/);
  });

  it('`npx flux` runs the workspace bin from the repository root', async () => {
    const { stdout } = await promisify(execFile)('npx', ['--no-install', 'flux', '--version'], { cwd: REPO_ROOT, env: cleanEnv() });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
