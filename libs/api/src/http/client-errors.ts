import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '@flux/domain';
import { errorBody, unroutedAnswer, type ErrorBody } from './errors.js';
import { REQUEST_ID_HEADER } from './request-id.js';
import { RESPONSE_HEADERS } from './response-headers.js';

/** What Node reports on a connection whose request it could not parse or that came too slowly. */
export interface ClientError extends Error {
  readonly code?: string;
  readonly rawPacket?: unknown;
}

interface RawAnswer {
  readonly status: number;
  readonly body: ErrorBody;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A method as HTTP defines its syntax (a token); anything else is not echoed back. */
const METHOD_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;

/**
 * The request line of a packet whose method Node's parser does not know, so that the answer
 * can be the 405 (or 404) any other unsupported method on that path gets.
 */
function requestLineOf(packet: unknown): { method: string; path: string } | undefined {
  if (!Buffer.isBuffer(packet)) return undefined;
  const line = packet.toString('latin1', 0, Math.min(packet.length, 16 * 1024)).split('\r\n', 1)[0] ?? '';
  const [method, target] = line.split(' ');
  if (method === undefined || target === undefined || !METHOD_TOKEN.test(method) || !target.startsWith('/')) return undefined;
  return { method, path: target.split('?')[0] ?? '' };
}

function answerFor(app: FastifyInstance, error: ClientError): RawAnswer {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return { status: 408, body: errorBody(ErrorCode.Timeout, 'the request was not received in time') };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, body: errorBody(ErrorCode.Validation, 'the request line and headers are larger than the server accepts') };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, body: errorBody(ErrorCode.PayloadTooLarge, 'the chunk extensions of the body are larger than the server accepts') };
    case 'HPE_INVALID_METHOD': {
      const line = requestLineOf(error.rawPacket);
      if (line === undefined) break;
      const answer = unroutedAnswer(app, line.method, line.path);
      return { status: answer.status, body: answer.body, ...(answer.allow === undefined ? {} : { headers: { Allow: answer.allow } }) };
    }
    default:
      break;
  }
  return { status: 400, body: errorBody(ErrorCode.Validation, 'malformed HTTP request') };
}

/**
 * Fastify's clientErrorHandler (`this` is the server): answers what Node's HTTP parser rejects
 * before any request exists (malformed requests, unknown methods, oversized headers, clients
 * too slow) with the `{"error", "code"}` shape of every other error, then closes the connection,
 * which can no longer be parsed.
 */
export function answerClientError(this: FastifyInstance, error: ClientError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const answer = answerFor(this, error);
  const requestId = randomUUID();
  this.log.debug({ reqId: requestId, code: error.code, status: answer.status }, 'client error');
  // As Node itself does: nothing is written into a response already under way (a 413 sent
  // before its body was read, say), else the answer goes out in one write; then the
  // connection is closed.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const text = JSON.stringify(answer.body);
  const headers: Record<string, string> = {
    ...RESPONSE_HEADERS,
    ...answer.headers,
    [REQUEST_ID_HEADER]: requestId,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    Connection: 'close',
  };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.write(`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}\r\n${head.join('')}\r\n${text}`);
  socket.destroy();
}
