import { connect } from 'node:net';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { freePort } from '@flux/core/tooling';
import { registerErrorHandling } from '../src/http/errors.js';
import { forwardIngestRoutes } from '../src/http/ingest-forwarding.js';

const statusLines = (text: string): string[] => text.match(/HTTP\/1\.1 \d{3}/g) ?? [];

describe('defect 9: a query gateway whose ingest gateway is down', () => {
  it('defect 9: answers 503 to a 131 KB batch and still answers the next request on the same connection (or closes it)', async () => {
    const closedPort = await freePort();
    const app = Fastify();
    // As in buildServer: route schemas are documentation only.
    app.setValidatorCompiler(() => () => true);
    registerErrorHandling(app);
    await forwardIngestRoutes(app, `http://127.0.0.1:${closedPort}`);
    app.get('/health', async () => ({ status: 'ok' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let closed = false;
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => (closed = true));
    try {
      const body = JSON.stringify({ events: [{ pad: 'p'.repeat(131_000) }] });
      socket.write(
        `POST /api/events/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      await expect.poll(() => statusLines(received).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
      expect(statusLines(received)[0]).toBe('HTTP/1.1 503');
      expect(received).toContain('"code":"FLUX_UNAVAILABLE"');
      socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      await expect.poll(() => statusLines(received).length >= 2 || closed, { timeout: 10_000 }).toBe(true);
      if (closed && statusLines(received).length < 2) expect(received).toMatch(/connection: close/i);
      else expect(statusLines(received)[1]).toBe('HTTP/1.1 200');
    } finally {
      socket.destroy();
      await app.close();
    }
  });
});
