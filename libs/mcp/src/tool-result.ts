import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** What a tool error tells the model: the server's stable code, the HTTP status when there was one. */
export interface ToolErrorInfo {
  readonly code: string;
  readonly message: string;
  readonly status?: number;
  readonly retryAfterSeconds?: number;
}

/** `_meta` key of a tool error's code and status, for clients that act on them. */
export const ERROR_META_KEY = 'flux/error';

/** An error a tool raises itself (bad arguments the schema cannot express, a limit of the MCP server). */
export class ToolError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/** What to do about each code, in the words a model needs. */
const HINTS: Readonly<Record<string, string>> = {
  FLUX_VALIDATION: 'The request was malformed: fix the field the message names and call again.',
  FLUX_UNAUTHORIZED:
    'Writing needs the token of the namespace that owns the entity (public mode). The MCP server sends the token it was configured with (FLUX_TOKEN, or the Authorization header of /mcp); it is missing or unknown.',
  FLUX_FORBIDDEN:
    'The token may only write entities of its own namespace: ids must look like "<namespace>/<name>". Read flux-core/directory to see the namespaces; do not retry with the same id.',
  FLUX_NOT_FOUND: 'Nothing with that name exists.',
  FLUX_PAYLOAD_TOO_LARGE: 'Too big: send fewer or smaller properties, or split the batch.',
  FLUX_RATE_LIMITED: 'The namespace is over its rate limit: wait (see retryAfterSeconds) before publishing again.',
  FLUX_UNAVAILABLE: 'Flux cannot serve this right now: retry in a few seconds.',
  FLUX_LOG_UNAVAILABLE: 'Flux cannot store events right now: retry in a few seconds.',
  FLUX_STORE_UNAVAILABLE: 'Flux cannot read state right now: retry in a few seconds.',
  FLUX_FENCED: 'A Flux process is being replaced: retry in a few seconds.',
  FLUX_NETWORK: 'The MCP server could not reach Flux: check that Flux runs at the configured URL.',
  FLUX_TIMEOUT_CLIENT: 'Flux did not answer in time: retry; a publish may or may not have been stored.',
};

/** The code, status and message of anything a tool threw (client errors carry `code` and `status`). */
export function errorInfo(error: unknown): ToolErrorInfo {
  if (error instanceof Error) {
    const { code, status, retryAfterSeconds } = error as Error & { code?: unknown; status?: unknown; retryAfterSeconds?: unknown };
    return {
      code: typeof code === 'string' ? code : 'FLUX_INTERNAL',
      message: error.message,
      ...(typeof status === 'number' ? { status } : {}),
      ...(typeof retryAfterSeconds === 'number' ? { retryAfterSeconds } : {}),
    };
  }
  return { code: 'FLUX_INTERNAL', message: String(error) };
}

/** A tool's answer: a short sentence for the model, the same data as structured content and as JSON text. */
export function toolResult(summary: string, structured: Record<string, unknown>): CallToolResult {
  return {
    content: [
      { type: 'text', text: summary },
      // Clients that show only text content still get the data.
      { type: 'text', text: JSON.stringify(structured) },
    ],
    structuredContent: structured,
  };
}

/**
 * A tool error (isError): the code and what it means as text, and the code and status in
 * `_meta`. No structuredContent: clients check it against the tool's output schema.
 */
export function toolError(error: unknown): CallToolResult {
  const info = errorInfo(error);
  const status = info.status === undefined ? '' : ` (HTTP ${info.status})`;
  const retry = info.retryAfterSeconds === undefined ? '' : ` retryAfterSeconds=${info.retryAfterSeconds}.`;
  const hint = HINTS[info.code];
  return {
    isError: true,
    content: [{ type: 'text', text: `${info.code}${status}: ${info.message}${retry}${hint === undefined ? '' : `\n${hint}`}` }],
    _meta: { [ERROR_META_KEY]: info },
  };
}

/** Runs a tool body; whatever it throws becomes a tool error with the server's code. */
export async function runTool(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (error) {
    return toolError(error);
  }
}
