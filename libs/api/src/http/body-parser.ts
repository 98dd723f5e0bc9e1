import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCode, FluxError } from '@flux/domain';
import type { RuntimeConfigService } from '@flux/core';

/** Which runtime limit applies to a route's body (set in the route's `config`). */
export type BodyLimitKind = 'single' | 'batch';

declare module 'fastify' {
  interface FastifyContextConfig {
    bodyLimit?: BodyLimitKind;
  }
}

/** How much of an oversized body is read and discarded so the client can read its 413. */
const MAX_DRAINED_BYTES = 64 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

const tooLarge = (limit: number) => new FluxError(ErrorCode.PayloadTooLarge, `request body exceeds the limit of ${limit} bytes`);

/**
 * Parses every body as JSON whatever its Content-Type (curl -d sends form-encoded), enforces
 * the body limits of the runtime config as they are now, and treats an empty body as none
 * (the original client sends Content-Type: application/json on bodiless DELETEs).
 */
export function registerJsonBodyParser(app: FastifyInstance, runtimeConfig: RuntimeConfigService): void {
  const limitFor = (request: FastifyRequest): number => {
    const config = runtimeConfig.current;
    return request.routeOptions.config.bodyLimit === 'batch'
      ? config.body_size_limit_batch_bytes
      : config.body_size_limit_single_bytes;
  };

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request, payload, done) => {
    const limit = limitFor(request);
    const declared = Number(request.headers['content-length']);
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (error: Error | null, body?: unknown): void => {
      if (settled) return;
      settled = true;
      done(error, body);
    };
    // Node closes the connection when a response is sent before the request body was read,
    // and the client then sees EPIPE instead of the 413. So an oversized body is drained
    // (never stored) before answering, up to a bound past which the connection is cut.
    const drainBound = limit + MAX_DRAINED_BYTES;
    if (Number.isFinite(declared) && declared > drainBound) {
      settle(tooLarge(limit));
      return;
    }
    payload.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > drainBound) settle(tooLarge(limit));
      else if (size <= limit) chunks.push(chunk);
      else chunks.length = 0;
    });
    payload.on('error', (error) => settle(error));
    payload.on('end', () => {
      if (size > limit) return settle(tooLarge(limit));
      if (size === 0) return settle(null, undefined);
      try {
        // Fatal: ill-formed UTF-8 is refused rather than silently turned into U+FFFD.
        const text = utf8.decode(Buffer.concat(chunks, size));
        settle(null, JSON.parse(text) as unknown);
      } catch (error) {
        const problem = error instanceof TypeError ? 'the body is not valid UTF-8' : (error as Error).message;
        settle(new FluxError(ErrorCode.Validation, `malformed JSON body: ${problem}`));
      }
    });
  });
}
