import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '@flux/domain';

/** How long a stopping server keeps listening for keep-alive clients to hear it is closing. */
export const DEFAULT_DRAIN_GRACE_MS = 1_000;
const DRAIN_CHECK_MS = 25;

/**
 * A stop that answers every request a client managed to send. Node's `server.close()` closes
 * keep-alive connections that look idle at once, so a request a client wrote on one at that
 * moment is reset unanswered (ECONNRESET: the client cannot tell whether it was applied). So a
 * stopping server first drains: it keeps listening for up to `graceMs`, answers every response
 * from then on with `Connection: close` (in-flight ones included) and every new request with
 * 503, until no plain HTTP connection is left (WebSockets, `webSocketCount`, are closed by the
 * server's own close); then it closes.
 *
 * Registered before the routes; returns the function that stops the server.
 */
export function registerDrain(app: FastifyInstance, webSocketCount: () => number, graceMs: number = DEFAULT_DRAIN_GRACE_MS): () => Promise<void> {
  let draining = false;
  app.addHook('onRequest', (_request, reply, done) => {
    if (!draining) return done();
    void reply
      .code(503)
      .header('connection', 'close')
      .send({ error: 'the server is shutting down; retry on another instance', code: ErrorCode.Unavailable });
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close');
    done(null, payload);
  });

  const plainConnections = (): Promise<number> =>
    new Promise((resolve) => app.server.getConnections((error, count) => resolve(error === null ? count - webSocketCount() : 0)));

  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      draining = true;
      if (app.server.listening) {
        const deadline = performance.now() + graceMs;
        while ((await plainConnections()) > 0 && performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, DRAIN_CHECK_MS));
        }
      }
      await app.close();
    })();
    return closing;
  };
}
