/** scripts/flux.sh (the agent skill's client) against a real deployment, internal and public mode. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicEnv, REPO_ROOT, startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import { get, getEntity, publishOk, registerNamespace, request, unique, waitFor, waitForEntity, waitForGone, type Json } from './support/client.js';
import { expectStatus, POSITION_FIELDS } from './support/expect.js';

const SCRIPT = join(REPO_ROOT, 'scripts/flux.sh');
const ADMIN = 'fluxsh-admin-token-0123456789abcd';
let flux: Deployment;
let pub: Deployment;
let tools: { bash: string; curl: string; date: string; cat: string; jq: string; python3: string };
let binDirs: string[] = [];

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function which(name: string): Promise<string> {
  return new Promise((resolveWhich, reject) => {
    execFile('bash', ['-c', `command -v ${name}`], (error, stdout) => (error ? reject(new Error(`${name} not found`)) : resolveWhich(stdout.trim())));
  });
}

/** Runs flux.sh with exactly `env` (plus PATH/HOME), never the suite's own FLUX_* variables. */
function runFlux(args: readonly string[], env: Record<string, string | undefined> = {}, path = process.env.PATH ?? ''): Promise<Run> {
  const cleanEnv: Record<string, string> = { PATH: path, HOME: process.env.HOME ?? '/tmp', LANG: 'C.UTF-8' };
  for (const [name, value] of Object.entries(env)) if (value !== undefined) cleanEnv[name] = value;
  return new Promise((resolveRun) => {
    execFile(tools.bash, [SCRIPT, ...args], { env: cleanEnv, timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolveRun({ code, stdout, stderr });
    });
  });
}

const describeRun = (run: Run): string => `exit ${run.code}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;

function expectOk(run: Run): Json {
  expect(run.code, describeRun(run)).toBe(0);
  return JSON.parse(run.stdout);
}

/** A PATH holding only the tools flux.sh needs, plus the named optional ones. */
async function restrictedPath(optional: ReadonlyArray<'jq' | 'python3'>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flux-sh-bin-'));
  binDirs.push(dir);
  for (const name of ['bash', 'curl', 'date', 'cat'] as const) await symlink(tools[name], join(dir, name));
  for (const name of optional) await symlink(tools[name], join(dir, name));
  return dir;
}

beforeAll(async () => {
  const python = await new Promise<string>((resolvePython, reject) =>
    execFile('python3', ['-c', 'import sys; print(sys.executable)'], (error, stdout) => (error ? reject(error) : resolvePython(stdout.trim()))),
  );
  tools = {
    bash: await which('bash'),
    curl: await which('curl'),
    date: await which('date'),
    cat: await which('cat'),
    jq: await which('jq'),
    python3: python,
  };
  [flux, pub] = await Promise.all([startDeployment(), startDeployment({ env: publicEnv(ADMIN) })]);
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([flux?.dispose(), pub?.dispose()]);
  await Promise.all(binDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  binDirs = [];
});

describe('usage', () => {
  it('no command: usage text and exit 1', async () => {
    const run = await runFlux([]);
    expect(run.code).toBe(1);
    const text = run.stdout + run.stderr;
    for (const command of ['publish', 'get', 'list', 'delete', 'batch-delete', 'batch', 'connectors', 'admin-config', 'health'])
      expect(text).toContain(command);
    for (const variable of ['FLUX_URL', 'FLUX_TOKEN', 'FLUX_ADMIN_TOKEN']) expect(text).toContain(variable);
    expect(text, 'the default FLUX_URL').toContain('http://localhost:3000');
  });

  it('unknown command: usage text and exit 1', async () => {
    const run = await runFlux(['frobnicate']);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/usage/i);
  });

  it.each([[['publish', 'sensors', 'agent']], [['get']], [['delete']], [['batch-delete']], [['batch']], [['list', '--bogus', 'x']]])(
    'missing or wrong arguments %j: exit 1 with usage',
    async (args) => {
      const run = await runFlux(args, { FLUX_URL: flux.baseUrl });
      expect(run.code, describeRun(run)).toBe(1);
      expect(run.stdout + run.stderr).toMatch(/usage/i);
    },
  );
});

describe('internal mode', () => {
  const env = () => ({ FLUX_URL: flux.baseUrl });

  it('health: exit 0 and the /health JSON', async () => {
    expect(expectOk(await runFlux(['health'], env()))).toEqual({ status: 'ok' });
  });

  it('health: exit non-zero when Flux cannot be reached', async () => {
    const run = await runFlux(['health'], { FLUX_URL: 'http://127.0.0.1:1' });
    expect(run.code).not.toBe(0);
  });

  it('publish STREAM SOURCE ENTITY_ID PROPERTIES_JSON with timestamp = now (epoch ms)', async () => {
    const id = `${unique('sh-pub')}/temp-sensor-01`;
    const before = Date.now();
    const body = expectOk(await runFlux(['publish', 'sensors', 'agent-01', id, '{"temperature":22.5,"unit":"celsius"}'], env()));
    expect(body).toEqual({ eventId: expect.any(String), stream: 'sensors', ...POSITION_FIELDS });
    const entity = await waitForEntity(flux, id);
    expect(entity.properties).toEqual({ temperature: 22.5, unit: 'celsius' });
    const history = await get(flux, `/api/events?entity=${encodeURIComponent(id)}`);
    const event = (history.body as Json[])[0];
    expect(event).toMatchObject({ stream: 'sensors', source: 'agent-01', eventId: body.eventId });
    expect(Number.isInteger(event.timestamp)).toBe(true);
    expect(event.timestamp).toBeGreaterThanOrEqual(before - 1_000);
    expect(event.timestamp).toBeLessThanOrEqual(Date.now() + 1_000);
  });

  it('publish escapes the id and source properly (quotes, backslashes, unicode, spaces)', async () => {
    const id = `${unique('sh-esc')}/room "101" \\ ü 雪 #1?x=y&z`;
    expectOk(await runFlux(['publish', 'sensors', 'agent "quoted"', id, '{"ok":true}'], env()));
    const entity = await waitForEntity(flux, id);
    expect(entity.id).toBe(id);
    const history = await get(flux, `/api/events?entity=${encodeURIComponent(id)}`);
    expect((history.body as Json[])[0].source).toBe('agent "quoted"');
  });

  it('publish with invalid PROPERTIES_JSON exits non-zero and prints the JSON error', async () => {
    const run = await runFlux(['publish', 'sensors', 'agent-01', unique('sh-bad'), '{not json'], env());
    expect(run.code).not.toBe(0);
    expect(JSON.parse(run.stdout).error).toEqual(expect.any(String));
  });

  it('get ENTITY_ID percent-encodes the id (/, space, #, ?, %, +, unicode)', async () => {
    const ids = [`${unique('sh-get')}/sensor-01`, `${unique('sh-get')}/a/b c#d?e%f+g`, `${unique('sh-get')}/ünï☃`];
    for (const id of ids) {
      await publishOk(flux, id, { id });
      await waitForEntity(flux, id);
      const entity = expectOk(await runFlux(['get', id], env()));
      expect(entity).toMatchObject({ id, properties: { id }, version: 1 });
    }
  });

  it('get of an unknown id: exit non-zero, prints {"error": "Entity not found"}', async () => {
    const run = await runFlux(['get', `${unique('sh-none')}/x`], env());
    expect(run.code).not.toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ error: 'Entity not found', code: 'FLUX_NOT_FOUND' });
  });

  it('list, list --prefix P and list --namespace NS', async () => {
    const ns = unique('sh-list');
    const ids = [`${ns}/a`, `${ns}/b & c`, `${ns}x/other`];
    for (const id of ids) await publishOk(flux, id, { n: 1 });
    for (const id of ids) await waitForEntity(flux, id);
    const all = expectOk(await runFlux(['list'], env())) as Json[];
    for (const id of ids) expect(all.map((entity) => entity.id)).toContain(id);
    const byPrefix = expectOk(await runFlux(['list', '--prefix', `${ns}/b & c`], env())) as Json[];
    expect(byPrefix.map((entity) => entity.id)).toEqual([`${ns}/b & c`]);
    const byNamespace = expectOk(await runFlux(['list', '--namespace', ns], env())) as Json[];
    expect(byNamespace.map((entity) => entity.id).sort()).toEqual([`${ns}/a`, `${ns}/b & c`]);
  });

  it('delete ENTITY_ID', async () => {
    const id = `${unique('sh-del')}/x y`;
    await publishOk(flux, id, { n: 1 });
    await waitForEntity(flux, id);
    const body = expectOk(await runFlux(['delete', id], env()));
    expect(body).toMatchObject({ entity_id: id, eventId: expect.any(String) });
    await waitForGone(flux, id);
  });

  it('batch-delete FILTER_JSON', async () => {
    const prefix = unique('sh-bdel');
    for (const suffix of ['1', '2']) await publishOk(flux, `${prefix}-${suffix}`, { n: 1 });
    await waitForEntity(flux, `${prefix}-2`);
    await waitForEntity(flux, `${prefix}-1`);
    const body = expectOk(await runFlux(['batch-delete', JSON.stringify({ prefix })], env()));
    expect(body).toMatchObject({ deleted: 2, failed: 0 });
    await waitForGone(flux, `${prefix}-1`);
    await waitForGone(flux, `${prefix}-2`);
  });

  it('batch EVENTS_JSON_ARRAY: the skill example (no timestamps) works; given timestamps are kept', async () => {
    const ns = unique('sh-batch');
    const events = [
      { stream: 'sensors', source: 'agent-01', payload: { entity_id: `${ns}/sensor-01`, properties: { temp: 22 } } },
      { stream: 'sensors', source: 'agent-01', timestamp: 1_700_000_000_000, payload: { entity_id: `${ns}/sensor-02`, properties: { temp: 23 } } },
    ];
    const body = expectOk(await runFlux(['batch', JSON.stringify(events, null, 2)], env()));
    expect(body).toMatchObject({ successful: 2, failed: 0 });
    expect((await waitForEntity(flux, `${ns}/sensor-01`)).properties).toEqual({ temp: 22 });
    expect((await waitForEntity(flux, `${ns}/sensor-02`)).properties).toEqual({ temp: 23 });
    const history = await get(flux, `/api/events?entity=${encodeURIComponent(`${ns}/sensor-02`)}`);
    expect((history.body as Json[])[0].timestamp).toBe(1_700_000_000_000);
  });

  it('connectors', async () => {
    const body = expectOk(await runFlux(['connectors'], env()));
    expect(Array.isArray(body.connectors)).toBe(true);
    expect(body.connectors.some((connector: Json) => connector.name === 'github')).toBe(true);
  });

  it('admin-config reads the runtime config', async () => {
    const body = expectOk(await runFlux(['admin-config'], env()));
    expect(Object.keys(body).sort()).toEqual([
      'body_size_limit_batch_bytes',
      'body_size_limit_single_bytes',
      'rate_limit_enabled',
      'rate_limit_per_namespace_per_minute',
    ]);
  });

  it('admin-config UPDATE_JSON without FLUX_ADMIN_TOKEN refuses (exit 1) and changes nothing', async () => {
    const before = (await get(flux, '/api/admin/config')).body;
    const run = await runFlux(['admin-config', '{"rate_limit_per_namespace_per_minute": 4321}'], env());
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toContain('FLUX_ADMIN_TOKEN');
    expect((await get(flux, '/api/admin/config')).body).toEqual(before);
  });

  it('FLUX_URL with a trailing slash works', async () => {
    expect(expectOk(await runFlux(['health'], { FLUX_URL: `${flux.baseUrl}/` }))).toEqual({ status: 'ok' });
  });
});

describe('output formatting', () => {
  it('pretty-prints with jq when available', async () => {
    const path = await restrictedPath(['jq', 'python3']);
    const run = await runFlux(['admin-config'], { FLUX_URL: flux.baseUrl }, path);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toMatch(/^\{\n {2}"rate_limit_enabled"/);
  });

  it('falls back to python3 -m json.tool without jq', async () => {
    const path = await restrictedPath(['python3']);
    const run = await runFlux(['admin-config'], { FLUX_URL: flux.baseUrl }, path);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toMatch(/^\{\n {4}"rate_limit_enabled"/);
    expect(JSON.parse(run.stdout).rate_limit_enabled).toBe(true);
  });

  it('prints the raw JSON without jq and python3', async () => {
    const path = await restrictedPath([]);
    const run = await runFlux(['admin-config'], { FLUX_URL: flux.baseUrl }, path);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(run.stdout).rate_limit_enabled).toBe(true);
    // publish (JSON built in bash) and get (percent-encoding in bash) need neither.
    const id = `${unique('sh-raw')}/ü x`;
    expect(await runFlux(['publish', 'sensors', 'raw', id, '{"a":1}'], { FLUX_URL: flux.baseUrl }, path)).toMatchObject({ code: 0 });
    await waitForEntity(flux, id);
    expect(JSON.parse((await runFlux(['get', id], { FLUX_URL: flux.baseUrl }, path)).stdout).id).toBe(id);
  });
});

describe('public mode', () => {
  let ns: { name: string; token: string };
  let other: { name: string; token: string };
  const env = (token?: string, admin?: string) => ({ FLUX_URL: pub.baseUrl, FLUX_TOKEN: token, FLUX_ADMIN_TOKEN: admin });

  beforeAll(async () => {
    ns = await registerNamespace(pub, unique('shpub'), ADMIN);
    other = await registerNamespace(pub, unique('shoth'), ADMIN);
  });

  it('publish sends FLUX_TOKEN as bearer; without it the 401 JSON is printed and the exit is non-zero', async () => {
    const id = `${ns.name}/sensor-01`;
    expectOk(await runFlux(['publish', 'sensors', 'agent-01', id, '{"temperature":22.5}'], env(ns.token)));
    await waitForEntity(pub, id);
    const refused = await runFlux(['publish', 'sensors', 'agent-01', `${ns.name}/nope`, '{"t":1}'], env());
    expect(refused.code).not.toBe(0);
    expect(JSON.parse(refused.stdout).error).toEqual(expect.any(String));
    const foreign = await runFlux(['publish', 'sensors', 'agent-01', `${other.name}/x`, '{"t":1}'], env(ns.token));
    expect(foreign.code).not.toBe(0);
    expect((await getEntity(pub, `${other.name}/x`)).status).toBe(404);
  });

  it('get and list work with and without a token (reads are open)', async () => {
    const id = `${ns.name}/readable/deep`;
    await publishOk(pub, id, { r: 1 }, { token: ns.token });
    await waitForEntity(pub, id);
    expect(expectOk(await runFlux(['get', id], env())).id).toBe(id);
    expect(expectOk(await runFlux(['get', id], env(ns.token))).id).toBe(id);
    const listed = expectOk(await runFlux(['list', '--namespace', ns.name], env())) as Json[];
    expect(listed.map((entity) => entity.id)).toContain(id);
  });

  it('batch, delete and batch-delete with FLUX_TOKEN', async () => {
    const events = [
      { stream: 'sensors', source: 'agent-01', payload: { entity_id: `${ns.name}/b1`, properties: { temp: 22 } } },
      { stream: 'sensors', source: 'agent-01', payload: { entity_id: `${ns.name}/b2`, properties: { temp: 23 } } },
      { stream: 'sensors', source: 'agent-01', payload: { entity_id: `${other.name}/b3`, properties: { temp: 24 } } },
    ];
    const batch = expectOk(await runFlux(['batch', JSON.stringify(events)], env(ns.token)));
    expect(batch).toMatchObject({ successful: 2, failed: 1 });
    await waitForEntity(pub, `${ns.name}/b1`);
    await waitForEntity(pub, `${ns.name}/b2`);
    expect(expectOk(await runFlux(['delete', `${ns.name}/b1`], env(ns.token)))).toMatchObject({ entity_id: `${ns.name}/b1` });
    await waitForGone(pub, `${ns.name}/b1`);
    const noToken = await runFlux(['delete', `${ns.name}/b2`], env());
    expect(noToken.code).not.toBe(0);
    expect(expectOk(await runFlux(['batch-delete', JSON.stringify({ entity_ids: [`${ns.name}/b2`] })], env(ns.token)))).toMatchObject({ deleted: 1 });
    await waitForGone(pub, `${ns.name}/b2`);
  });

  it('connectors with FLUX_TOKEN', async () => {
    const body = expectOk(await runFlux(['connectors'], env(ns.token)));
    expect(Array.isArray(body.connectors)).toBe(true);
  });

  it('admin-config UPDATE_JSON sends FLUX_ADMIN_TOKEN (not FLUX_TOKEN) as bearer', async () => {
    const body = expectOk(await runFlux(['admin-config', '{"rate_limit_per_namespace_per_minute": 5000}'], env(ns.token, ADMIN)));
    expect(body.rate_limit_per_namespace_per_minute).toBe(5000);
    const current = await get(pub, '/api/admin/config');
    expectStatus(current, 200);
    expect(current.body.rate_limit_per_namespace_per_minute).toBe(5000);
    const wrong = await runFlux(['admin-config', '{"rate_limit_per_namespace_per_minute": 1}'], env(ns.token, 'wrong-admin-token'));
    expect(wrong.code).not.toBe(0);
    expect(JSON.parse(wrong.stdout).error).toEqual(expect.any(String));
    expect((await get(pub, '/api/admin/config')).body.rate_limit_per_namespace_per_minute).toBe(5000);
    expectStatus(await request(pub, 'PUT', '/api/admin/config', { json: { rate_limit_per_namespace_per_minute: 10_000 }, token: ADMIN }), 200);
  });

  it('admin-config without arguments reads the config (no admin token needed)', async () => {
    const body = expectOk(await runFlux(['admin-config'], env()));
    expect(typeof body.rate_limit_enabled).toBe('boolean');
  });

  it('get flux-core/directory (the skill getting-started step)', async () => {
    await waitFor(async () => (await getEntity(pub, 'flux-core/directory')).status === 200, { timeoutMs: 12_000, what: 'the directory' });
    const body = expectOk(await runFlux(['get', 'flux-core/directory'], env(ns.token)));
    expect(body.id).toBe('flux-core/directory');
  });
});
