/** `flux` end to end: spawned processes against a real embedded Flux in internal mode. */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from '../../../apps/flux/test/support/deployment.js';
import { unique, waitFor, waitForEntity } from '../../../apps/flux/test/support/client.js';
import { FluxClient, type Entity } from '@flux/client';
import { jsonOf, runFlux, runShell, type FluxRun, type RunOptions } from './support/run-flux.js';

let deployment: Deployment;
let flux: FluxClient;
let scratch: string;

beforeAll(async () => {
  deployment = await startDeployment();
  flux = new FluxClient({ url: deployment.baseUrl });
  scratch = await mkdtemp(join(tmpdir(), 'flux-cli-'));
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await deployment?.dispose();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

/** `flux ARGS` with FLUX_URL pointing at the deployment. */
const cli = (args: readonly string[], options: RunOptions = {}): Promise<FluxRun> =>
  runFlux(args, { ...options, env: { FLUX_URL: deployment.baseUrl, ...options.env } });

describe('verbs of the bash client', () => {
  it('publish, get and delete print JSON on a pipe and exit 0', async () => {
    const id = `${unique('cli')}/room-101`;
    const published = await cli(['publish', 'sensors', 'agent-01', id, '{"temperature":22.5}']);
    expect(published).toMatchObject({ code: 0, stderr: '' });
    expect(jsonOf(published)).toMatchObject({ eventId: expect.any(String), stream: 'sensors' });
    await waitForEntity(deployment, id);
    const got = await cli(['get', id]);
    expect(got.code).toBe(0);
    expect(jsonOf(got)).toMatchObject({ id, properties: { temperature: 22.5 }, version: 1 });
    expect(got.stdout.trim().split('\n')).toHaveLength(1);
    const deleted = await cli(['delete', id]);
    expect(jsonOf(deleted)).toMatchObject({ entity_id: id });
    await waitFor(async () => (await flux.get(id)) === undefined);
    const missing = await cli(['get', id]);
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toContain(`entity ${id} not found`);
  });

  it('publish --if-absent / --if-version --wait: one claim wins, the other exits 2 with version_conflict', async () => {
    const id = `${unique('cli')}/task-1`;
    const first = await cli(['publish', 'tasks', 'agent-01', id, '{"owner":"agent-01"}', '--if-absent', '--wait']);
    expect(first.code).toBe(0);
    expect(jsonOf(first)).toMatchObject({ version: 1 });
    const second = await cli(['publish', 'tasks', 'agent-02', id, '{"owner":"agent-02"}', '--if-absent']);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('version_conflict');
    const next = await cli(['publish', 'tasks', 'agent-01', id, '{"done":true}', '--if-version', '1', '--wait']);
    expect(jsonOf(next)).toMatchObject({ version: 2 });
    const bad = await cli(['publish', 'tasks', 'agent-01', id, '{}', '--if-version', '-1']);
    expect(bad.code).toBe(1);
  });

  it('list with --prefix and --namespace; text output is a table', async () => {
    const namespace = unique('clil');
    await flux.batch(['a', 'b', 'c'].map((name) => ({ entityId: `${namespace}/${name}`, properties: { name } })));
    await waitFor(async () => (await flux.listAll({ namespace })).length === 3);
    const byPrefix = await cli(['list', '--prefix', `${namespace}/b`]);
    expect((jsonOf(byPrefix) as Entity[]).map((entity) => entity.id)).toEqual([`${namespace}/b`]);
    const byNamespace = await cli(['list', '--namespace', namespace, '--page-size', '2']);
    expect((jsonOf(byNamespace) as Entity[]).map((entity) => entity.id)).toEqual(['a', 'b', 'c'].map((name) => `${namespace}/${name}`));
    const text = await cli(['list', '--namespace', namespace, '--output', 'text']);
    expect(text.stdout.split('\n')[0]).toMatch(/^ID\s+VERSION\s+LAST UPDATED\s+PROPERTIES$/);
    expect(text.stdout).toContain(`${namespace}/c  1`);
    const filtered = await cli(['list', '--namespace', namespace, '--filter', 'name in ("a", "c")', '--page-size', '1']);
    expect((jsonOf(filtered) as Entity[]).map((entity) => entity.id)).toEqual([`${namespace}/a`, `${namespace}/c`]);
    const badFilter = await cli(['list', '--filter', 'name =']);
    expect(badFilter.code).not.toBe(0);
    expect(badFilter.stderr).toContain('filter: expected a value');
    const both = await cli(['list', '--prefix', 'a', '--namespace', 'b']);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/cannot be used with/);
  });

  it('batch publishes, fills timestamps, and exits 5 when an element is refused', async () => {
    const prefix = unique('clib');
    const events = [
      { stream: 'sensors', source: 'cli', payload: { entity_id: `${prefix}/a`, properties: { n: 1 } } },
      { stream: 'NOT VALID', source: 'cli', payload: { entity_id: `${prefix}/b`, properties: { n: 2 } } },
    ];
    const run = await cli(['batch', JSON.stringify(events)]);
    expect(run.code).toBe(5);
    expect(jsonOf(run)).toMatchObject({
      successful: 1,
      failed: 1,
      results: [{ eventId: expect.any(String) }, { error: expect.stringMatching(/stream/) }],
    });
    expect(run.stderr).toContain('1 of 2 events refused');
    const ok = await cli(['batch', '-'], { input: JSON.stringify([events[0]]) });
    expect(ok.code).toBe(0);
    expect(jsonOf(ok)).toMatchObject({ successful: 1, failed: 0 });
  });

  it('batch-delete by prefix and by entity_ids', async () => {
    const prefix = unique('clid');
    await flux.batch(['x1', 'x2', 'y1'].map((name) => ({ entityId: `${prefix}/${name}`, properties: {} })));
    await waitFor(async () => (await flux.listAll({ prefix })).length === 3);
    expect(jsonOf(await cli(['batch-delete', JSON.stringify({ prefix: `${prefix}/x` })]))).toMatchObject({ deleted: 2, failed: 0 });
    expect(jsonOf(await cli(['batch-delete', JSON.stringify({ entity_ids: [`${prefix}/y1`] })]))).toMatchObject({ deleted: 1 });
    const invalid = await cli(['batch-delete', '{"prefix":"a","namespace":"b"}']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/HTTP 400 FLUX_VALIDATION/);
  });

  it('history, connectors, health and admin-config', async () => {
    const id = unique('clih');
    await flux.publish({ entityId: id, properties: { n: 1 } });
    await flux.publish({ entityId: id, properties: { n: 2 } });
    await waitForEntity(deployment, id, (entity) => entity.version === 2);
    const [history, connectors, health, ready, config] = await Promise.all([
      cli(['history', id, '--limit', '1']),
      cli(['connectors']),
      cli(['health']),
      cli(['health', '--ready']),
      cli(['admin-config']),
    ]);
    expect((jsonOf(history) as Array<{ payload: { properties: unknown } }>).map((event) => event.payload.properties)).toEqual([{ n: 2 }]);
    expect(jsonOf(connectors)).toMatchObject({ connectors: expect.arrayContaining([expect.objectContaining({ name: 'github' })]) });
    expect(jsonOf(health)).toEqual({ status: 'ok' });
    expect(jsonOf(ready)).toEqual({ ready: true });
    expect(jsonOf(config)).toMatchObject({ body_size_limit_batch_bytes: expect.any(Number) });
  });

  it('admin-config updates need an admin token; flags and environment both give it', async () => {
    const before = (await flux.admin.getConfig()).rate_limit_per_namespace_per_minute;
    const refused = await cli(['admin-config', '{"rate_limit_per_namespace_per_minute":1234}']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/FLUX_ADMIN_TOKEN/);
    // Internal mode without FLUX_ADMIN_TOKEN on the server: any admin token is accepted.
    const byFlag = await cli(['admin-config', '--admin-token', 'x', '{"rate_limit_per_namespace_per_minute":1234}']);
    expect(jsonOf(byFlag)).toMatchObject({ rate_limit_per_namespace_per_minute: 1234 });
    const byEnv = await cli(['admin-config', JSON.stringify({ rate_limit_per_namespace_per_minute: before })], { env: { FLUX_ADMIN_TOKEN: 'x' } });
    expect(jsonOf(byEnv)).toMatchObject({ rate_limit_per_namespace_per_minute: before });
  });
});

describe('usage, help and exit codes', () => {
  it('no arguments, an unknown verb, a missing argument or bad JSON are usage errors (1)', async () => {
    const [none, unknown, missing, badJson, badOption] = await Promise.all([
      cli([]),
      cli(['frobnicate']),
      cli(['get']),
      cli(['publish', 's', 'src', 'id', '{not json']),
      cli(['list', '--limit', 'zero']),
    ]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/Usage: flux/);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(missing.stderr).toMatch(/missing required argument 'ENTITY_ID'/);
    expect(missing.code).toBe(1);
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toMatch(/PROPERTIES_JSON is not valid JSON/);
    expect(badOption.code).toBe(1);
    expect(badOption.stderr).toMatch(/--limit must be a positive integer/);
  });

  it('--help works for the program and a verb (exit 0, on stdout)', async () => {
    const [top, verb, sub] = await Promise.all([cli(['--help']), cli(['publish', '--help']), cli(['namespaces', 'create', '--help'])]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Exit status:/);
    expect(verb.code).toBe(0);
    expect(verb.stdout).toMatch(/Usage: flux publish \[options\] <STREAM> <SOURCE> <ENTITY_ID> <PROPERTIES_JSON>/);
    expect(sub.stdout).toMatch(/Usage: flux namespaces create/);
  });

  it('an HTTP 4xx exits 2 with the server message on stderr', async () => {
    const run = await cli(['publish', 'Bad Stream', 'src', unique('x'), '{}']);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toMatch(/^flux: stream .*\(HTTP 400 FLUX_VALIDATION from POST \/api\/events\)\n$/);
  });

  it('an unreachable Flux exits 4; --url wins over FLUX_URL', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await runFlux(['health'], { env: { FLUX_URL: closed } });
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).toMatch(/could not reach Flux at .*ECONNREFUSED/);
    const overridden = await runFlux(['health', '--url', deployment.baseUrl], { env: { FLUX_URL: closed } });
    expect(overridden.code).toBe(0);
  });

  it('an HTTP 5xx or a Flux that is not ready exits 3', async () => {
    const server: Server = createServer((request, response) => {
      response
        .writeHead(503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'not ready: recovering', code: 'FLUX_UNAVAILABLE' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const url = `http://127.0.0.1:${port}`;
      const [get, ready] = await Promise.all([runFlux(['get', 'a', '--url', url]), runFlux(['health', '--ready', '--url', url])]);
      expect(get.code).toBe(3);
      expect(get.stderr).toMatch(/HTTP 503 FLUX_UNAVAILABLE/);
      expect(ready.code).toBe(3);
      expect(jsonOf(ready)).toEqual({ ready: false, reason: 'not ready: recovering' });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('import and export', () => {
  it('imports NDJSON from a file and from stdin, counting refusals by line (exit 5)', async () => {
    const prefix = unique('clii');
    const file = join(scratch, 'events.ndjson');
    const lines = [
      JSON.stringify({ stream: 'imports', source: 'cli', payload: { entity_id: `${prefix}/a`, properties: { n: 1 } } }),
      '',
      JSON.stringify({ entityId: `${prefix}/b`, properties: { n: 2 } }),
      '{broken',
      JSON.stringify({ stream: 'BAD', source: 'cli', payload: { entity_id: `${prefix}/c`, properties: {} } }),
    ];
    await writeFile(file, `${lines.join('\n')}\n`);
    const fromFile = await cli(['import', file]);
    expect(fromFile.code).toBe(5);
    expect(jsonOf(fromFile)).toEqual({
      lines: 5,
      accepted: 2,
      refused: 2,
      errors: [
        { line: 4, error: 'not valid JSON' },
        { line: 5, error: expect.stringMatching(/stream/) },
      ],
    });
    // stderr is no terminal here: no progress line, only the final error.
    expect(fromFile.stderr).toBe('flux: 2 events refused\n');

    const many = Array.from({ length: 2_500 }, (_, n) => JSON.stringify({ entityId: `${prefix}/many-${n % 50}`, properties: { n } })).join('\n');
    const fromStdin = await cli(['import'], { input: many });
    expect(fromStdin.code).toBe(0);
    expect(jsonOf(fromStdin)).toEqual({ lines: 2_500, accepted: 2_500, refused: 0, errors: [] });
    await waitForEntity(deployment, `${prefix}/many-49`, (entity) => entity.properties.n === 2_499);
  });

  it('an unreadable import file is a usage error', async () => {
    const run = await cli(['import', join(scratch, 'missing.ndjson')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot read .*missing\.ndjson.*ENOENT/);
  });

  it('export writes NDJSON that import reads back; a closed pipe ends it quietly', async () => {
    const prefix = unique('clie');
    await flux.batch(Array.from({ length: 30 }, (_, n) => ({ entityId: `${prefix}/e${String(n).padStart(2, '0')}`, properties: { n } })));
    await waitFor(async () => (await flux.listAll({ prefix })).length === 30);
    const exported = await cli(['export', '--prefix', `${prefix}/`, '--page-size', '7']);
    expect(exported.code).toBe(0);
    const entities = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Entity);
    expect(entities.map((entity) => entity.properties.n)).toEqual(Array.from({ length: 30 }, (_, n) => n));

    // Round trip: entities become events under another prefix.
    const copy = unique('cliec');
    const events = entities.map((entity) => JSON.stringify({ entityId: entity.id.replace(prefix, copy), properties: entity.properties })).join('\n');
    expect(jsonOf(await cli(['import', '-'], { input: events }))).toMatchObject({ accepted: 30 });
    await waitFor(async () => (await flux.listAll({ prefix: copy })).length === 30);

    const piped = await runShell(`"$FLUX" export --prefix '${prefix}/' --page-size 1 | head -n 2; echo "flux-status=\${PIPESTATUS[0]}" >&2`, {
      env: { FLUX_URL: deployment.baseUrl },
    });
    expect(piped.stdout.trim().split('\n')).toHaveLength(2);
    expect(piped.stderr).toBe('flux-status=0\n');
  });
});
