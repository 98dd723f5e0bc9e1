/** Requests fetch cannot send (methods it forbids, malformed ones, oversized headers), written to a socket as they are. */
import { connect } from 'node:net';
import type { ApiResponse, Json, Target } from './client.js';

/** What came back: the parsed response once whole, undefined while incomplete. */
function parseResponse(received: Buffer): ApiResponse | undefined {
  const end = received.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = received.toString('latin1', 0, end).split('\r\n');
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get('content-length') ?? Number.NaN);
  const rest = received.subarray(end + 4);
  if (!Number.isFinite(length) || rest.length < length) return undefined;
  const text = rest.subarray(0, length).toString('utf8');
  let body: Json = undefined;
  let isJson = false;
  try {
    body = JSON.parse(text);
    isJson = true;
  } catch {
    body = undefined;
  }
  return { status: Number(statusLine.split(' ')[1]), headers, text, body, isJson };
}

/**
 * Sends `head` (request line and headers; the blank line that ends them is added) on a new
 * connection and resolves with the first response, or rejects if the connection closes first.
 */
export function rawRequest(target: Target, head: string, timeoutMs = 20_000): Promise<ApiResponse> {
  const { hostname, port } = new URL(target.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    const finish = (outcome: () => void): void => {
      clearTimeout(timer);
      socket.destroy();
      outcome();
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no response within ${timeoutMs} ms to ${head.split('\r\n')[0]?.slice(0, 80)}`))),
      timeoutMs,
    );
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const response = parseResponse(received);
      if (response !== undefined) finish(() => resolve(response));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const response = parseResponse(received);
      finish(() =>
        response === undefined
          ? reject(new Error(`connection closed after ${received.length} bytes: ${received.toString('latin1', 0, 200)}`))
          : resolve(response),
      );
    });
    socket.write(`${head}\r\n\r\n`);
  });
}
