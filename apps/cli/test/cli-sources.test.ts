/** `flux connectors sources`: add, list, get, pause, resume and rm against a real embedded Flux. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeployment, STARTUP_TIMEOUT_MS, TEST_ENCRYPTION_KEY, type Deployment } from '../../../apps/flux/test/support/deployment.js';
import { unique, waitForEntity } from '../../../apps/flux/test/support/client.js';
import { jsonOf, runFlux, type FluxRun } from './support/run-flux.js';

let deployment: Deployment;
let server: Server;
let feedUrl: string;
const requests: IncomingMessage['headers'][] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    requests.push(request.headers);
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rows: [{ code: 'k1', label: 'first', noise: 1 }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  feedUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rows`;
  deployment = await startDeployment({ env: { FLUX_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, FLUX_CONNECTOR_ALLOW_PRIVATE_NETWORKS: 'true' } });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await deployment?.dispose();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
});

const cli = (args: readonly string[], env: Record<string, string> = {}): Promise<FluxRun> =>
  runFlux(['connectors', 'sources', ...args], { env: { FLUX_URL: deployment.baseUrl, ...env } });

describe('flux connectors sources', () => {
  it('add publishes the items; list, get, pause, resume and rm manage the source', async () => {
    const prefix = unique('clisrc');
    const added = await cli(
      [
        'add',
        'rows',
        feedUrl,
        '--key',
        '$.code',
        '--items',
        '$.rows',
        '--prefix',
        prefix,
        '--properties',
        '["label"]',
        '--auth',
        'header:X-Key',
        '--interval',
        '600',
      ],
      { FLUX_SOURCE_TOKEN: 'cli-secret-token' },
    );
    expect(added.code, added.stderr).toBe(0);
    const source = jsonOf(added) as { id: string; has_token: boolean; auth: unknown };
    expect(source).toMatchObject({ has_token: true, auth: { header: 'x-key' }, properties: { label: '$["label"]' } });
    expect(added.stdout).not.toContain('cli-secret-token');

    const entity = await waitForEntity(deployment, `${prefix}/k1`, undefined, { timeoutMs: 20_000 });
    expect(entity.properties).toEqual({ label: 'first' });
    expect(requests.at(-1)?.['x-key']).toBe('cli-secret-token');

    const listed = jsonOf(await cli(['list'])) as { sources: { id: string }[] };
    expect(listed.sources.map((s) => s.id)).toContain(source.id);
    expect(jsonOf(await cli(['get', source.id]))).toMatchObject({ id: source.id, name: 'rows' });
    expect(jsonOf(await cli(['pause', source.id]))).toMatchObject({ status: 'paused' });
    expect(jsonOf(await cli(['resume', source.id]))).toMatchObject({ paused: false });
    expect(jsonOf(await cli(['rm', source.id]))).toEqual({ deleted: source.id });
    const gone = await cli(['get', source.id]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('not found');
  });

  it('refuses a bad option before calling Flux', async () => {
    const refused = await cli(['add', 'x', feedUrl, '--key', '$.id', '--auth', 'digest']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--auth must be/);
  });
});
