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
    if (Number.isFinite(declared) && declared > limit) {
      payload.resume();
      done(tooLarge(limit), undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    payload.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        // Keep draining rather than destroying the socket, so the client reads the 413.
        failed = true;
        chunks.length = 0;
        done(tooLarge(limit), undefined);
        return;
      }
      chunks.push(chunk);
    });
    payload.on('error', (error) => {
      if (!failed) done(error, undefined);
      failed = true;
    });
    payload.on('end', () => {
      if (failed) return;
      if (size === 0) {
        done(null, undefined);
        return;
      }
      const text = Buffer.concat(chunks, size).toString('utf8');
      try {
        done(null, JSON.parse(text) as unknown);
      } catch (error) {
        done(new FluxError(ErrorCode.Validation, `malformed JSON body: ${(error as Error).message}`), undefined);
      }
    });
  });
}
