/** The JSON body parser: which limit each route gets, and what it makes of odd bodies. */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RUNTIME_CONFIG, type RuntimeConfig } from '@flux/domain';
import { CONTROL_BODY_LIMIT_BYTES, registerJsonBodyParser } from '../src/http/body-parser.js';
import { registerErrorHandling } from '../src/http/errors.js';

/** The parser reads the limits of the runtime config as they are at each request. */
let runtimeConfig: { current: RuntimeConfig };
let app: FastifyInstance;

beforeEach(async () => {
  runtimeConfig = { current: DEFAULT_RUNTIME_CONFIG };
  app = Fastify();
  registerErrorHandling(app);
  registerJsonBodyParser(app, runtimeConfig);
  // Each route echoes what the parser made of the body.
  const echo = async (request: { body: unknown }) => ({ body: request.body === undefined ? 'none' : request.body });
  app.post('/single', { config: { bodyLimit: 'single' } }, echo);
  app.post('/batch', { config: { bodyLimit: 'batch' } }, echo);
  app.post('/control', echo);
  await app.ready();
});

afterEach(async () => {
  await app.close();
});

const post = (url: string, payload: string | Buffer, contentType = 'application/json') =>
  app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType } });

/** A JSON document of exactly `bytes` bytes. */
const jsonOf = (bytes: number): string => `{"pad":"${'x'.repeat(bytes - 10)}"}`;

describe('body limits', () => {
  it('event routes follow the runtime config as it is now', async () => {
    expect((await post('/single', jsonOf(2_000))).statusCode).toBe(200);
    runtimeConfig.current = { ...DEFAULT_RUNTIME_CONFIG, body_size_limit_single_bytes: 1_024 };
    const refused = await post('/single', jsonOf(2_000));
    expect(refused.statusCode).toBe(413);
    expect(refused.json()).toEqual({ error: 'request body exceeds the limit of 1024 bytes', code: 'FLUX_PAYLOAD_TOO_LARGE' });
    expect((await post('/batch', jsonOf(2_000))).statusCode).toBe(200);
  });

  it('control routes keep their fixed limit whatever the runtime config says', async () => {
    runtimeConfig.current = { ...DEFAULT_RUNTIME_CONFIG, body_size_limit_single_bytes: 1_024, body_size_limit_batch_bytes: 65_536 };
    expect((await post('/control', jsonOf(CONTROL_BODY_LIMIT_BYTES))).statusCode).toBe(200);
    expect((await post('/control', jsonOf(CONTROL_BODY_LIMIT_BYTES + 1))).statusCode).toBe(413);
  });
});

describe('parsing', () => {
  it('parses JSON whatever the Content-Type (curl -d sends form-encoded)', async () => {
    const response = await post('/single', '{"a":1}', 'application/x-www-form-urlencoded');
    expect(response.json()).toEqual({ body: { a: 1 } });
  });

  it('treats an empty body as none', async () => {
    expect((await post('/control', '')).json()).toEqual({ body: 'none' });
  });

  it('refuses malformed JSON and ill-formed UTF-8 with 400 FLUX_VALIDATION', async () => {
    const malformed = await post('/single', '{"a":');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ code: 'FLUX_VALIDATION', error: expect.stringMatching(/^malformed JSON body: /) });

    const badUtf8 = await post('/single', Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]));
    expect(badUtf8.statusCode).toBe(400);
    expect(badUtf8.json()).toEqual({ error: 'malformed JSON body: the body is not valid UTF-8', code: 'FLUX_VALIDATION' });
  });
});
