import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { ErrorCode, FluxError } from '@flux/domain';
import type { SystemDeps } from '../src/api-deps.js';
import { registerErrorHandling } from '../src/http/errors.js';
import { systemRoutes } from '../src/routes/system-routes.js';

async function serverThrowing(error: Error) {
  const lines: string[] = [];
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => lines.push(line) } } });
  registerErrorHandling(app);
  app.get('/fail', async () => {
    throw error;
  });
  await app.ready();
  return { app, lines };
}

describe('defect 8: error bodies leak no internals', () => {
  it('defect 8: a 5xx FluxError whose message holds an address answers a fixed message with its code; the log keeps the detail', async () => {
    const leak = 'Redis unavailable during getEntity: connect ECONNREFUSED 10.1.2.3:6379';
    const { app, lines } = await serverThrowing(new FluxError(ErrorCode.StoreUnavailable, leak));
    const response = await app.inject({ method: 'GET', url: '/fail' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ error: 'state store unavailable, retry later', code: 'FLUX_STORE_UNAVAILABLE' });
    expect(response.body).not.toContain('10.1.2.3');
    expect(lines.join('')).toContain('10.1.2.3');
    await app.close();
  });

  it('defect 8: an unexpected error is a 500 FLUX_INTERNAL without its message or stack', async () => {
    const { app } = await serverThrowing(new Error('GetEntity on shard 1 (host-a:50051) failed'));
    const response = await app.inject({ method: 'GET', url: '/fail' });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: 'internal server error', code: 'FLUX_INTERNAL' });
    await app.close();
  });

  it('a 4xx FluxError keeps its message and code', async () => {
    const { app } = await serverThrowing(new FluxError(ErrorCode.Validation, 'entity_id is required'));
    const response = await app.inject({ method: 'GET', url: '/fail' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'entity_id is required', code: 'FLUX_VALIDATION' });
    await app.close();
  });
});

describe('answers of the system routes', () => {
  it('/ready answers 503 with the error shape and FLUX_UNAVAILABLE while the server is not ready', async () => {
    const app = Fastify();
    registerErrorHandling(app);
    systemRoutes(app, { readiness: async () => ({ ready: false, reason: 'recovery running' }) } as unknown as SystemDeps);
    await app.ready();
    const response = await app.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ error: 'not ready: recovery running', code: 'FLUX_UNAVAILABLE' });
    await app.close();
  });
});
