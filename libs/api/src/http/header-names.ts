/**
 * Names of the headers the API's routes send or read, in a module that imports nothing, so
 * that CORS (which every response goes through) can list them without importing the routes.
 */

/** Set on a page of entities while more remain: the cursor of the next page. */
export const NEXT_CURSOR_HEADER = 'Flux-Next-Cursor';

/** Response header set when an answer may lag the log (read from the shared store, not its owner). */
export const STALE_HEADER = 'Flux-Stale';

/** Headers of the MCP streamable HTTP transport, so browser-based MCP clients can use /mcp. */
export const MCP_CORS_REQUEST_HEADERS = ['Mcp-Session-Id', 'Mcp-Protocol-Version', 'Last-Event-ID'];
export const MCP_CORS_EXPOSED_HEADERS = ['Mcp-Session-Id'];
