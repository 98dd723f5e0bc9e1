import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Where the other processes serving /mcp can be reached, by the instance id in a session id. */
export interface McpPeers {
  lookup(instanceId: string): Promise<string | undefined>;
}

/** Marks a request passed on by a peer: it is served here or answered 404, never passed on again. */
export const FORWARDED_HEADER = 'flux-mcp-forwarded';

const REQUEST_HEADERS = ['authorization', 'content-type', 'accept', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id', 'x-request-id'];
const RESPONSE_HEADERS = ['content-type', 'mcp-session-id', 'retry-after'];

/**
 * Passes a request of a session that lives in another process on to that process's /mcp and
 * streams its answer back (notification streams included). Resolves false when the peer could
 * not be reached, before anything was answered.
 */
export async function forwardToPeer(peerUrl: string, request: IncomingMessage, response: ServerResponse, body: unknown): Promise<boolean> {
  const abort = new AbortController();
  response.once('close', () => abort.abort());
  const headers: Record<string, string> = { [FORWARDED_HEADER]: '1' };
  for (const name of REQUEST_HEADERS) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  let upstream: Response;
  try {
    upstream = await fetch(`${peerUrl}/mcp`, {
      method: request.method ?? 'POST',
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: abort.signal,
    });
  } catch {
    return false;
  }
  const answer: Record<string, string> = {};
  for (const name of RESPONSE_HEADERS) {
    const value = upstream.headers.get(name);
    if (value !== null) answer[name] = value;
  }
  response.writeHead(upstream.status, answer);
  try {
    if (upstream.body !== null) {
      for await (const chunk of upstream.body) {
        if (!response.write(chunk)) await once(response, 'drain');
      }
    }
    response.end();
  } catch {
    // The client or the peer went away mid-stream.
    response.destroy();
  }
  return true;
}
