import Fastify from 'fastify';
import { Agent, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { registerDrain } from '../src/http/drain.js';

type Outcome = { status: number; connection: string | undefined; body: string } | { error: string };

function get(agent: Agent, port: number, path: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = httpRequest({ agent, host: '127.0.0.1', port, path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.once('end', () => resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, body }));
    });
    req.once('error', (error) => resolve({ error: (error as NodeJS.ErrnoException).code ?? error.message }));
    req.end();
  });
}

const agents: Agent[] = [];
afterEach(() => {
  for (const agent of agents.splice(0)) agent.destroy();
});

describe('draining before the server closes', () => {
  it('answers a request sent on an idle keep-alive connection during the stop with 503, and lets the one in flight finish', async () => {
    const app = Fastify();
    const close = registerDrain(app, () => 0, 10_000);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let slowStarted!: () => void;
    const slowRunning = new Promise<void>((resolve) => (slowStarted = resolve));
    app.get('/ok', async () => ({ ok: true }));
    app.get('/slow', async () => {
      slowStarted();
      await released;
      return { slow: true };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const idle = new Agent({ keepAlive: true, maxSockets: 1 });
    const busy = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(idle, busy);

    expect(await get(idle, port, '/ok')).toMatchObject({ status: 200 });
    const slow = get(busy, port, '/slow');
    await slowRunning;
    const closed = close();

    // The idle connection is reused: a bare close would reset it.
    const late = await get(idle, port, '/ok');
    expect(late).toMatchObject({ status: 503, connection: 'close' });
    expect(JSON.parse((late as { body: string }).body)).toEqual({ error: expect.stringMatching(/shutting down/), code: 'FLUX_UNAVAILABLE' });

    release();
    expect(await slow).toMatchObject({ status: 200, connection: 'close' });
    // Both connections are gone, so the stop does not wait out its 10 s grace.
    await closed;
    expect(app.server.listening).toBe(false);
  });
});
