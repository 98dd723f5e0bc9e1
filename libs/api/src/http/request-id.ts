import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Sent with every response; a query gateway forwards it to the ingest gateway with a write. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** A client's request id is kept only when it cannot garble a log line or a header. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id a request is logged and answered under: the client's own when safe, else a new one. */
export function requestIdOf(request: IncomingMessage): string {
  const sent = request.headers[REQUEST_ID_HEADER];
  return typeof sent === 'string' && SAFE_REQUEST_ID.test(sent) ? sent : randomUUID();
}
