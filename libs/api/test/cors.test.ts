import Fastify, { type LightMyRequestResponse } from 'fastify';
import cors from '@fastify/cors';
import { afterEach, describe, expect, it } from 'vitest';
import { CORS_OPTIONS, CORS_RESPONSE_HEADERS, registerCorsPreflight } from '../src/http/cors.js';

const ORIGIN = 'https://dashboard.example.org';
const corsHeaders = (response: LightMyRequestResponse): Record<string, unknown> =>
  Object.fromEntries(Object.entries(response.headers).filter(([name]) => name.startsWith('access-control-') || name === 'vary'));

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe('CORS', () => {
  it('the constant headers of plain responses are exactly what @fastify/cors sends under the same options', async () => {
    // If an upgrade of the plugin changed what it sends, the constant would silently drift.
    const reference = Fastify();
    apps.push(reference);
    await reference.register(cors, CORS_OPTIONS);
    reference.get('/thing', async () => ({ ok: true }));
    const expected = corsHeaders(await reference.inject({ method: 'GET', url: '/thing', headers: { origin: ORIGIN } }));

    expect(expected).toEqual(CORS_RESPONSE_HEADERS);
  });

  it('preflights on any path are answered by the plugin; plain requests do not run its hook', async () => {
    const app = Fastify();
    apps.push(app);
    await registerCorsPreflight(app);
    app.get('/thing', async () => ({ ok: true }));

    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/thing',
      headers: { origin: ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-methods']).toBe(CORS_OPTIONS.methods.join(', '));
    expect(preflight.headers['access-control-allow-headers']).toBe(CORS_OPTIONS.allowedHeaders.join(', '));
    expect(preflight.headers['access-control-max-age']).toBe(String(CORS_OPTIONS.maxAge));

    const plain = await app.inject({ method: 'GET', url: '/thing', headers: { origin: ORIGIN } });
    expect(plain.statusCode).toBe(200);
    expect(corsHeaders(plain)).toEqual({});
  });
});
