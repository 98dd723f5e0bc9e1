import { createConnection, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '@flux/core/tooling';
import { TcpBalancer } from '../tcp-balancer.js';

const servers: { close(): unknown }[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A backend that answers every chunk with `<name>:<chunk>`. */
async function echo(name: string): Promise<number> {
  const server: Server = createServer((socket) => socket.on('data', (chunk) => socket.end(`${name}:${chunk.toString()}`)));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return address.port;
}

function ask(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => (answer === '' ? reject(new Error(`connection ${text} closed unanswered`)) : resolve(answer)));
    socket.on('error', reject);
  });
}

describe('TcpBalancer', () => {
  it('serves every connection while one backend still refuses, however many arrive at once', async () => {
    const up = await echo('up');
    const starting = await freePort(); // nothing listens there yet
    const balancer = new TcpBalancer([
      { host: '127.0.0.1', port: starting },
      { host: '127.0.0.1', port: up },
    ]);
    servers.push(balancer);
    const port = await balancer.listen(0, '127.0.0.1');
    const answers = await Promise.all(Array.from({ length: 20 }, (_, index) => ask(port, `c${index}`)));
    expect(answers).toEqual(Array.from({ length: 20 }, (_, index) => `up:c${index}`));
  });
});
