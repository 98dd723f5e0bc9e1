import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * How much of an unread request body is read and discarded after an early reply, so that the
 * client can read the reply and send its next request on the same keep-alive connection.
 */
export const MAX_DRAINED_BYTES = 64 * 1024 * 1024;

/**
 * Makes a reply sent before the request body was read whole (413, a forwarding failure, ...)
 * leave the connection usable. A body that was handed to a stream consumer and dropped is
 * paused: without this, the next request on the connection is never parsed, so it is never
 * answered. A body of known, bounded size is read and discarded; anything larger (or lying
 * about its size) gets `Connection: close` and the socket is destroyed once the reply is out.
 */
export function releaseUnreadBody(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  // A request with neither header has no body (RFC 9112, 6.3). Answered from a hook as it
  // arrives, it is not yet marked complete, which is no reason to close its connection.
  const hasBody = request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined;
  if (raw.complete || !hasBody) return;
  const declared = Number(request.headers['content-length']);
  const socket = raw.socket;
  const close = (): void => {
    socket?.destroy();
  };
  // A body stream that its consumer destroyed (a failed forward) can no longer be drained.
  if (raw.destroyed || !Number.isFinite(declared) || declared > MAX_DRAINED_BYTES) {
    reply.header('Connection', 'close');
    reply.raw.once('finish', close);
    return;
  }
  let drained = 0;
  raw.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > MAX_DRAINED_BYTES) close();
  });
  raw.resume();
}
