/** Contract section 0: JSON errors everywhere (framework-level ones included) and CORS. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicEnv, startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import { envelope, errorShapeProblem, get, publishOk, request, unique, waitFor, type ApiResponse } from './support/client.js';
import { expectError, expectStatus } from './support/expect.js';
import { rawRequest } from './support/raw-http.js';

const ADMIN = 'cors-admin-token-0123456789abcdef';
let flux: Deployment;
let pub: Deployment;

beforeAll(async () => {
  [flux, pub] = await Promise.all([startDeployment(), startDeployment({ env: publicEnv(ADMIN) })]);
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([flux?.dispose(), pub?.dispose()]);
});

const ORIGIN = 'https://dashboard.example.org';

describe('every error is JSON {"error": "..."}', () => {
  const malformed = ['{', '{"stream": "s",', 'not json at all', '{"a":1}}', '\u0000'];

  it.each(malformed)('malformed JSON on POST /api/events (%j) is 400 JSON', async (raw) => {
    expectError(await request(flux, 'POST', '/api/events', { raw, headers: { 'content-type': 'application/json' } }), 400);
  });

  it('malformed JSON sent as form-urlencoded on /api/events and /api/events/batch is 400 JSON', async () => {
    expectError(
      await request(flux, 'POST', '/api/events', { raw: 'stream=s&source=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      400,
    );
    expectError(
      await request(flux, 'POST', '/api/events/batch', { raw: 'events=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      400,
    );
  });

  it('an empty body on POST /api/events (with and without Content-Type) is 400 JSON', async () => {
    expectError(await request(flux, 'POST', '/api/events', { raw: '', headers: { 'content-type': 'application/json' } }), 400);
    expectError(await request(flux, 'POST', '/api/events'), 400);
  });

  it.each([
    ['PUT', '/api/admin/config'],
    ['POST', '/api/state/entities/delete'],
    ['POST', '/api/events/batch'],
    ['POST', '/api/connectors/github/token'],
  ])('malformed JSON on %s %s is 400 JSON', async (method, path) => {
    expectError(await request(flux, method, path, { raw: '{"broken": ', headers: { 'content-type': 'application/json' } }), 400);
  });

  it('malformed JSON on POST /api/namespaces (public mode) is 400 JSON', async () => {
    expectError(
      await request(pub, 'POST', '/api/namespaces', { raw: '{"name": ', headers: { 'content-type': 'application/json' }, token: ADMIN }),
      400,
    );
  });

  it.each([
    ['GET', '/api/nope'],
    ['GET', '/nope'],
    ['GET', '/api/state'],
    ['POST', '/api/unknown/route'],
    ['GET', '/api/events/batch/extra'],
  ])('unknown route %s %s is 404 JSON', async (method, path) => {
    expectError(await request(flux, method, path), 404);
  });

  it.each([
    ['PATCH', '/api/events'],
    ['PUT', '/api/events'],
    ['DELETE', '/api/events/batch'],
    ['GET', '/api/events/batch'],
    ['PUT', '/health'],
    ['POST', '/api/state/entities'],
    ['PATCH', '/api/state/entities/abc'],
    ['POST', '/api/admin/config'],
    ['DELETE', '/api/admin/config'],
  ])('wrong method %s %s is a 4xx JSON error', async (method, path) => {
    const response = await request(flux, method, path, method === 'GET' || method === 'DELETE' ? {} : { json: {} });
    expect(response.status, `${method} ${path}: ${response.status} ${response.text}`).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(response.status === 404 || response.status === 405, `${method} ${path} status ${response.status}`).toBe(true);
    expect(errorShapeProblem(response)).toBeUndefined();
  });

  it('a body too large for POST /api/events is a 413 JSON error', async () => {
    const big = JSON.stringify(envelope(unique('big'), { blob: 'x'.repeat(1_100_000) }));
    expectError(await request(flux, 'POST', '/api/events', { raw: big, headers: { 'content-type': 'application/json' } }), 413);
  });

  it('a body too large for POST /api/events/batch is a 413 JSON error the client can actually read (10 attempts)', async () => {
    const huge = JSON.stringify({ events: [envelope(unique('huge'), { blob: 'y'.repeat(10_600_000) })] });
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 10; attempt += 1) {
      try {
        const response = await request(flux, 'POST', '/api/events/batch', {
          raw: huge,
          headers: { 'content-type': 'application/json' },
          timeoutMs: 60_000,
        });
        expectError(response, 413);
        outcomes.push('413');
      } catch (error) {
        const cause =
          error instanceof Error && error.cause instanceof Error ? ` (${(error.cause as NodeJS.ErrnoException).code ?? error.cause.message})` : '';
        outcomes.push(`${error instanceof Error ? error.message : String(error)}${cause}`);
      }
    }
    const failures = outcomes.filter((outcome) => outcome !== '413');
    expect(
      failures,
      `transport failures instead of a 413 response (the server closed the connection while the body was still being sent): ${failures.length}/10`,
    ).toEqual([]);
  }, 120_000);

  it('a Content-Type the JSON endpoints do not take gives success or a JSON 4xx, never plain text', async () => {
    const response = await request(flux, 'PUT', '/api/admin/config', { raw: '<config/>', headers: { 'content-type': 'application/xml' } });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(errorShapeProblem(response)).toBeUndefined();
  });

  it('an id with a malformed percent-encoding is a JSON 4xx', async () => {
    const response = await get(flux, '/api/state/entities/%E0%A4%A');
    expectError(response, 400);
    expect(response.body.code).toBe('FLUX_VALIDATION');
    expect(response.headers.get('x-request-id')).toBeTruthy();
  });

  it('auth errors are JSON (401/403) and validation errors are JSON in public mode', async () => {
    expectError(await request(pub, 'POST', '/api/events', { json: envelope('someone/x', { n: 1 }) }), 401);
    expectError(await request(pub, 'POST', '/api/events', { raw: '{', headers: { 'content-type': 'application/json' } }), [400, 401]);
  });

  it('a WebSocket-only path answers a plain GET with a JSON 4xx (no upgrade)', async () => {
    const response = await get(flux, '/api/ws');
    expectError(response, 426);
    expect(response.body.code).toBe('FLUX_VALIDATION');
  });
});

describe('what the HTTP framework answers on its own has the {"error", "code"} shape too', () => {
  const expectFluxError = (response: ApiResponse, status: number, code: string): void => {
    expectError(response, status);
    expect(response.body.code, response.text).toBe(code);
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  };

  it.each(['QUERY', 'TRACE', 'PROPFIND', 'FROBNICATE'])('%s on a known path is 405 with Allow', async (method) => {
    const response = await rawRequest(flux, `${method} /api/admin/config HTTP/1.1\r\nHost: x\r\nConnection: close`);
    expectFluxError(response, 405, 'FLUX_METHOD_NOT_ALLOWED');
    expect(response.headers.get('allow')).toBe('GET, HEAD, PUT');
  });

  it('an unknown method on an unknown path is 404', async () => {
    expectFluxError(await rawRequest(flux, 'FROBNICATE /api/nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close'), 404, 'FLUX_NOT_FOUND');
  });

  it('a request Node cannot parse is 400', async () => {
    expectFluxError(await rawRequest(flux, 'GET /health HTTP/1.1\r\nHost: x\r\nnot a header line'), 400, 'FLUX_VALIDATION');
  });

  it('headers past 64 KiB are 431', async () => {
    expectFluxError(await rawRequest(flux, `GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(70_000)}`), 431, 'FLUX_VALIDATION');
  });

  it('a long query string within that bound reaches the route, which names the parameter at fault', async () => {
    const message = expectError(await get(flux, `/api/state/entities?prefix=${'p'.repeat(20_000)}`), 400);
    expect(message).toContain('prefix must be at most 512 characters');
  });

  it('a path segment longer than any parameter the API takes is 414', async () => {
    expectFluxError(await get(flux, `/api/connectors/${'c'.repeat(9_000)}`), 414, 'FLUX_VALIDATION');
  });
});

describe('CORS', () => {
  const listOf = (value: string | null): string[] =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim().toLowerCase())
      .filter((item) => item.length > 0);

  function expectAllowsOrigin(response: ApiResponse, context: string): void {
    const allowed = response.headers.get('access-control-allow-origin');
    expect(allowed === '*' || allowed === ORIGIN, `${context}: Access-Control-Allow-Origin is ${allowed}`).toBe(true);
  }

  it.each([
    ['POST', '/api/events'],
    ['POST', '/api/events/batch'],
    ['DELETE', '/api/state/entities/ns%2Fx'],
    ['PUT', '/api/admin/config'],
    ['GET', '/api/state/entities'],
  ])('preflight for %s %s allows any origin, the methods and Authorization/Content-Type', async (method, path) => {
    const response = await request(flux, 'OPTIONS', path, {
      headers: { origin: ORIGIN, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' },
    });
    expect([200, 204], `preflight status ${response.status} ${response.text}`).toContain(response.status);
    expectAllowsOrigin(response, 'preflight');
    const methods = listOf(response.headers.get('access-control-allow-methods'));
    for (const wanted of ['get', 'post', 'put', 'delete', 'options']) expect(methods, 'Access-Control-Allow-Methods').toContain(wanted);
    const headers = listOf(response.headers.get('access-control-allow-headers'));
    const star = headers.includes('*');
    expect(
      star || (headers.includes('authorization') && headers.includes('content-type')),
      `Access-Control-Allow-Headers: ${headers.join(',')}`,
    ).toBe(true);
  });

  it('preflight works in public mode without a token', async () => {
    const response = await request(pub, 'OPTIONS', '/api/events', {
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect([200, 204]).toContain(response.status);
    expectAllowsOrigin(response, 'public preflight');
  });

  it('actual responses allow the origin and expose Flux-Next-Cursor, Retry-After and the rate-limit headers', async () => {
    const id = `${unique('cors')}/x`;
    await publishOk(flux, id, { n: 1 });
    const response = await get(flux, `/api/state/entities?limit=1`, { headers: { origin: ORIGIN } });
    expectStatus(response, 200);
    expectAllowsOrigin(response, 'GET');
    const exposed = listOf(response.headers.get('access-control-expose-headers'));
    expect(exposed, 'Access-Control-Expose-Headers').toContain('flux-next-cursor');
    expect(exposed, 'Access-Control-Expose-Headers').toContain('retry-after');
    expect(
      exposed.some((header) => header.includes('ratelimit')),
      `rate-limit headers exposed (${exposed.join(',')})`,
    ).toBe(true);
  });

  it('error responses carry CORS headers too (browsers can read the JSON error)', async () => {
    const response = await request(flux, 'POST', '/api/events', { raw: '{', headers: { origin: ORIGIN, 'content-type': 'application/json' } });
    expectError(response, 400);
    expectAllowsOrigin(response, 'error response');
    const notFound = await get(flux, '/api/state/entities/none-here', { headers: { origin: ORIGIN } });
    expectError(notFound, 404);
    expectAllowsOrigin(notFound, '404 response');
    const unauthorized = await request(pub, 'POST', '/api/events', { json: envelope('nobody/x', { n: 1 }), headers: { origin: ORIGIN } });
    expectError(unauthorized, 401);
    expectAllowsOrigin(unauthorized, '401 response');
  });

  it('state is still reachable after all those errors (the server did not crash)', async () => {
    const id = unique('cors-alive');
    await publishOk(flux, id, { alive: true });
    await waitFor(async () => (await get(flux, `/api/state/entities/${id}`)).status === 200, { what: 'entity after errors' });
  });
});
