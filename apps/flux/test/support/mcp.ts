/**
 * MCP clients for the contract suite: the MCP SDK's own Client over streamable HTTP (Flux's
 * /mcp) or over stdio (the stdio server spawned as a process, as `npx flux mcp` runs it).
 */
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'vitest';
import { REPO_ROOT } from './deployment.js';
import type { Json, Target } from './client.js';

export type McpConnect = (target: Target, token?: string) => Promise<Client>;

const clientInfo = { name: 'flux-contract-suite', version: '1.0.0' };

export const connectHttp: McpConnect = async (target, token) => {
  const client = new Client(clientInfo);
  const transport = new StreamableHTTPClientTransport(new URL(`${target.baseUrl}/mcp`), {
    ...(token === undefined ? {} : { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
  });
  await client.connect(transport);
  return client;
};

/** The stdio server as its own process (`flux mcp`, the CLI's bin), against `target`. */
export const connectStdio: McpConnect = async (target, token) => {
  const client = new Client(clientInfo);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', FLUX_URL: target.baseUrl, FLUX_LOG_LEVEL: 'warn' };
  if (token !== undefined) env.FLUX_TOKEN = token;
  // `npx flux mcp`, as an agent's MCP client starts it.
  const transport = new StdioClientTransport({
    command: join(REPO_ROOT, 'node_modules', '.bin', 'flux'),
    args: ['mcp'],
    env,
    cwd: REPO_ROOT,
    stderr: 'inherit',
  });
  await client.connect(transport);
  return client;
};

export interface ToolOutcome {
  readonly result: CallToolResult;
  /** structuredContent of a success. */
  readonly data: Json;
}

export async function callTool(client: Client, name: string, args: Record<string, unknown>, onprogress?: () => void): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, undefined, {
    timeout: 70_000,
    ...(onprogress === undefined ? {} : { onprogress }),
  })) as CallToolResult;
}

/** Calls a tool that must succeed; resolves with its structured content. */
export async function callOk(client: Client, name: string, args: Record<string, unknown>): Promise<Json> {
  const result = await callTool(client, name, args);
  const text = result.content.map((part) => (part.type === 'text' ? part.text : `[${part.type}]`)).join('\n');
  expect(result.isError, `${name} failed: ${text}`).toBeFalsy();
  expect(result.structuredContent, `${name} has structured content`).toBeDefined();
  // The same data as text, for clients that only show text.
  expect(result.content.some((part) => part.type === 'text' && part.text === JSON.stringify(result.structuredContent))).toBe(true);
  return result.structuredContent;
}

/** Calls a tool that must fail; resolves with the error's code (from _meta), status and text. */
export async function callError(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<{ code: string; status?: number; text: string }> {
  const result = await callTool(client, name, args);
  expect(result.isError, `${name} should fail: ${JSON.stringify(result)}`).toBe(true);
  const text = result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
  const meta = (result._meta?.['flux/error'] ?? {}) as { code?: string; status?: number };
  return { code: meta.code ?? '', ...(meta.status === undefined ? {} : { status: meta.status }), text };
}

/** Resolves at the first progress notification of a call: for wait_for_change, the moment it listens. */
export function progressSignal(): { onprogress: () => void; listening: Promise<void> } {
  let onprogress!: () => void;
  const listening = new Promise<void>((resolve) => (onprogress = resolve));
  return { onprogress, listening };
}

export const entityUri = (id: string): string => `flux://entities/${encodeURIComponent(id)}`;
