import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerErrorHandling } from '../src/http/errors.js';
import { dashboardContentSecurityPolicy, dashboardRoutes } from '../src/routes/dashboard-routes.js';

const INDEX =
  '<!doctype html><html><head><meta name="flux-mode" content="internal" /><script type="module" src="./assets/app-1a2b.js"></script></head></html>';

let root: string;
let app: FastifyInstance | undefined;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'flux-dashboard-'));
});

afterEach(async () => {
  await app?.close();
  app = undefined;
  await rm(root, { recursive: true, force: true });
});

async function serve(publicMode = false): Promise<FastifyInstance> {
  app = Fastify();
  registerErrorHandling(app);
  await dashboardRoutes(app, { root, publicMode });
  await app.ready();
  return app;
}

async function build(): Promise<void> {
  await mkdir(join(root, 'assets'));
  await writeFile(join(root, 'index.html'), INDEX);
  await writeFile(join(root, 'assets/app-1a2b.js'), 'console.log(1);');
}

describe('the dashboard routes', () => {
  it('without a build, / is a JSON 404 that says how to build it, and a later build is served without a restart', async () => {
    const server = await serve();
    const missing = await server.inject({ method: 'GET', url: '/' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ code: 'FLUX_NOT_FOUND', error: expect.stringContaining('npm run build:dashboard') });
    expect((await server.inject({ method: 'GET', url: '/assets/app-1a2b.js' })).statusCode).toBe(404);

    await build();
    const page = await server.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect((await server.inject({ method: 'GET', url: '/assets/app-1a2b.js' })).statusCode).toBe(200);
  });

  it('marks the page with the mode, never caches it, and caches hashed assets for good', async () => {
    await build();
    const server = await serve(true);
    const page = await server.inject({ method: 'GET', url: '/', headers: { host: 'flux.example:8080' } });
    expect(page.body).toContain('<meta name="flux-mode" content="public"');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['content-security-policy']).toContain("connect-src 'self' ws://flux.example:8080 wss://flux.example:8080");
    const asset = await server.inject({ method: 'GET', url: '/assets/app-1a2b.js' });
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await server.inject({ method: 'HEAD', url: '/' })).statusCode).toBe(200);
  });

  it('an unknown asset is a 404 (not a 405), and nothing outside assets/ is served', async () => {
    await build();
    await writeFile(join(root, 'secret.txt'), 'not for the web');
    const server = await serve();
    const unknown = await server.inject({ method: 'GET', url: '/assets/app-ffff.js' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'FLUX_NOT_FOUND' });
    for (const url of ['/assets/../secret.txt', '/assets/%2e%2e/secret.txt', '/assets/..%2fsecret.txt', '/index.html', '/secret.txt']) {
      const response = await server.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(response.body, url).not.toContain('not for the web');
    }
  });
});

describe('dashboardContentSecurityPolicy', () => {
  it('names the WebSocket of a plain host and drops a Host header that could add directives', () => {
    expect(dashboardContentSecurityPolicy('127.0.0.1:3000')).toContain("connect-src 'self' ws://127.0.0.1:3000 wss://127.0.0.1:3000;");
    expect(dashboardContentSecurityPolicy('[::1]:3000')).toContain('ws://[::1]:3000');
    for (const host of ['evil.example; script-src *', 'a b', '', undefined]) {
      expect(dashboardContentSecurityPolicy(host), String(host)).toContain("connect-src 'self';");
    }
    expect(dashboardContentSecurityPolicy('x')).toMatch(/frame-ancestors 'none'/);
  });
});
