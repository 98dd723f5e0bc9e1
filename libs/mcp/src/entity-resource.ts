import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { ChangeHub } from './change-hub.js';
import type { FluxPort } from './flux-port.js';
import { errorInfo } from './tool-result.js';

const URI_PREFIX = 'flux://entities/';
/** RFC 6570 simple expansion percent-encodes the id, "/" included: flux://entities/dawn-coral%2Fsensor-01. */
export const ENTITY_URI_TEMPLATE = `${URI_PREFIX}{id}`;
/** Subscriptions one MCP session may hold. */
export const MAX_SUBSCRIPTIONS = 256;
/** JSON-RPC error of a resource that does not exist (the MCP specification's code). */
const RESOURCE_NOT_FOUND = -32002;
/** How long a subscribe may wait for the change stream to open. */
const SUBSCRIBE_OPEN_TIMEOUT_MS = 10_000;

export const entityUri = (id: string): string => `${URI_PREFIX}${encodeURIComponent(id)}`;

/** The entity id of a flux://entities/ URI (percent-encoded or not), or undefined. */
export function entityIdOfUri(uri: string): string | undefined {
  if (!uri.startsWith(URI_PREFIX)) return undefined;
  try {
    const id = decodeURIComponent(uri.slice(URI_PREFIX.length));
    return id === '' ? undefined : id;
  } catch {
    return undefined;
  }
}

export interface EntityResourceContext {
  readonly flux: FluxPort;
  readonly changes: ChangeHub;
  readonly logger?: Logger;
}

/**
 * The resource template flux://entities/{id} and its subscriptions: after resources/subscribe
 * returns, every change of the entity (an event applied, a deletion) sends
 * notifications/resources/updated, one per burst of changes. Returns what drops the subscriptions.
 */
export function registerEntityResource(server: McpServer, context: EntityResourceContext): () => void {
  const { flux, changes } = context;
  server.registerResource(
    'entity',
    new ResourceTemplate(ENTITY_URI_TEMPLATE, { list: undefined }),
    {
      title: 'Flux entity',
      description:
        'The current state of one entity as JSON (id, properties, lastUpdated, version). The id is percent-encoded: flux://entities/dawn-coral%2Fsensor-01. ' +
        'Subscribe to be notified whenever it changes.',
      mimeType: 'application/json',
    },
    async (uri) => {
      const id = entityIdOfUri(uri.href);
      if (id === undefined) throw new McpError(ErrorCode.InvalidParams, `${uri.href} is not flux://entities/<percent-encoded id>`);
      let entity;
      try {
        entity = await flux.get(id);
      } catch (error) {
        const info = errorInfo(error);
        throw new McpError(ErrorCode.InternalError, `${info.code}: ${info.message}`, info);
      }
      if (entity === undefined) throw new McpError(RESOURCE_NOT_FOUND, `no entity ${id}`, { code: 'FLUX_NOT_FOUND' });
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(entity) }] };
    },
  );

  const subscriptions = new Map<string, () => void>();
  const pending = new Set<string>();
  const notify = (uri: string): void => {
    if (pending.has(uri)) return;
    pending.add(uri);
    // One notification for the messages of one event (one per property) and anything else already arrived.
    setImmediate(() => {
      pending.delete(uri);
      if (!subscriptions.has(uri)) return;
      server.server
        .sendResourceUpdated({ uri })
        .catch((error: unknown) => context.logger?.debug({ err: error, uri }, 'resource notification not sent'));
    });
  };

  server.server.registerCapabilities({ resources: { subscribe: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
    const { uri } = request.params;
    const id = entityIdOfUri(uri);
    if (id === undefined) throw new McpError(ErrorCode.InvalidParams, `${uri} is not flux://entities/<percent-encoded id>`);
    if (subscriptions.has(uri)) return {};
    if (subscriptions.size >= MAX_SUBSCRIPTIONS)
      throw new McpError(ErrorCode.InvalidRequest, `at most ${MAX_SUBSCRIPTIONS} subscriptions per session`);
    // Held while the change stream opens, so that a second subscribe of the same URI does not open another listener.
    subscriptions.set(uri, () => undefined);
    try {
      const stop = await changes.listen(
        { filter: { entityId: id }, onChange: () => notify(uri), onGap: () => notify(uri) },
        AbortSignal.any([extra.signal, AbortSignal.timeout(SUBSCRIBE_OPEN_TIMEOUT_MS)]),
      );
      if (subscriptions.has(uri)) subscriptions.set(uri, stop);
      else stop();
    } catch (error) {
      subscriptions.delete(uri);
      throw new McpError(ErrorCode.InternalError, `could not follow Flux's changes: ${errorInfo(error).message}`, { code: 'FLUX_UNAVAILABLE' });
    }
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    const stop = subscriptions.get(request.params.uri);
    subscriptions.delete(request.params.uri);
    stop?.();
    return {};
  });

  return () => {
    for (const stop of subscriptions.values()) stop();
    subscriptions.clear();
  };
}
