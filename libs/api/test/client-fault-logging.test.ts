/**
 * What a client does wrong is not the server failing: an abort mid-body and a WebSocket
 * protocol violation are logged below error level, without a stack, so that operators'
 * error logs and alerts are about the server.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_RUNTIME_CONFIG } from '@flux/domain';
import { registerJsonBodyParser } from '../src/http/body-parser.js';
import { registerErrorHandling, websocketErrorHandler } from '../src/http/errors.js';

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly err?: { readonly stack?: string };
}

const ERROR_LEVEL = 50;
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A debug logger into `lines`; `logged(msg)` resolves once a line with that message was written. */
function capturingLogger(lines: LogLine[]) {
  const waiters: { msg: string; resolve: () => void }[] = [];
  const write = (text: string): void => {
    const line = JSON.parse(text) as LogLine;
    lines.push(line);
    for (const waiter of waiters.filter(({ msg }) => msg === line.msg)) waiter.resolve();
  };
  const logged = (msg: string): Promise<void> =>
    lines.some((line) => line.msg === msg) ? Promise.resolve() : new Promise((resolve) => waiters.push({ msg, resolve }));
  return { options: { level: 'debug', stream: { write } }, logged };
}

describe('faults of the client are not logged as server errors', () => {
  it('a client that hangs up in the middle of its body is logged at debug, with no error line', async () => {
    const lines: LogLine[] = [];
    const { options, logged } = capturingLogger(lines);
    app = Fastify({ logger: options });
    let requestArrived!: () => void;
    const arrived = new Promise<void>((resolve) => (requestArrived = resolve));
    app.addHook('onRequest', (_request, _reply, done) => {
      requestArrived();
      done();
    });
    registerErrorHandling(app);
    registerJsonBodyParser(app, { current: DEFAULT_RUNTIME_CONFIG });
    let reached = false;
    app.post('/api/events', { config: { bodyLimit: 'single' } }, async () => {
      reached = true;
      return {};
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;

    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"stream":');
    // Once the server took the request up, the client goes away before the rest of its body.
    await arrived;
    socket.destroy();
    await logged('client aborted the request');

    expect(reached).toBe(false);
    expect(lines.filter((line) => line.level >= ERROR_LEVEL)).toEqual([]);
    expect(lines.find((line) => line.msg === 'client aborted the request')?.level).toBe(20);
  });

  it('a WebSocket protocol violation is logged at info without a stack; a failure of the server stays an error', () => {
    const lines: LogLine[] = [];
    const log = {
      info: (fields: object, msg: string) => lines.push({ level: 30, msg, ...fields }),
      error: (fields: object, msg: string) => lines.push({ level: 50, msg, ...fields }),
    };
    const request = { log } as unknown as FastifyRequest;
    let terminated = 0;
    const socket = { terminate: () => void terminated++ };

    const violation = Object.assign(new RangeError('Invalid WebSocket frame: MASK must be set'), { code: 'WS_ERR_EXPECTED_MASK' });
    websocketErrorHandler(violation, socket, request);
    websocketErrorHandler(new Error('the hub failed'), socket, request);

    expect(lines[0]).toMatchObject({ level: 30, msg: 'websocket closed on a client protocol error', code: 'WS_ERR_EXPECTED_MASK' });
    expect(lines[0]?.err).toBeUndefined();
    expect(lines[1]).toMatchObject({ level: 50, msg: 'websocket failed' });
    expect(terminated).toBe(2);
  });
});
