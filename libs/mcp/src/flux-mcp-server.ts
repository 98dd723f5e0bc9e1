import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Logger } from 'pino';
import type { ChangeHub } from './change-hub.js';
import { SERVER_INSTRUCTIONS } from './descriptions.js';
import { registerEntityResource } from './entity-resource.js';
import { registerEntityTools } from './entity-tools.js';
import type { FluxPort } from './flux-port.js';
import { registerWaitTool } from './wait-for-change.js';

export interface FluxMcpServerOptions {
  /** How this MCP server calls Flux (with the caller's token). */
  readonly flux: FluxPort;
  /** The change stream waits and subscriptions listen to (may be shared by several servers). */
  readonly changes: ChangeHub;
  readonly version: string;
  readonly logger?: Logger;
}

/** Largest number of array elements and object members one tool call's arguments may hold. */
const MAX_TOOL_INPUT_ELEMENTS = 200_000;

/**
 * One MCP server (one per session: the SDK binds a server to one transport) with the Flux
 * tools, the entity resource and its subscriptions. The subscriptions end when it closes (a
 * caller that sets `server.server.onclose` afterwards calls the one it replaces).
 */
export function createFluxMcpServer(options: FluxMcpServerOptions): McpServer {
  const server = new McpServer(
    { name: 'flux', title: 'Flux world state', version: options.version },
    { instructions: SERVER_INSTRUCTIONS, maxToolInputElements: MAX_TOOL_INPUT_ELEMENTS },
  );
  const defaultSource = (): string => {
    const client = server.server.getClientVersion()?.name;
    return client === undefined || client === '' ? 'mcp' : `mcp:${client}`;
  };
  registerEntityTools(server, { flux: options.flux, defaultSource });
  registerWaitTool(server, { flux: options.flux, changes: options.changes });
  const dropSubscriptions = registerEntityResource(server, {
    flux: options.flux,
    changes: options.changes,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const previous = server.server.onclose;
  server.server.onclose = () => {
    previous?.();
    dropSubscriptions();
  };
  return server;
}
