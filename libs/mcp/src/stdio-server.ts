import type { Readable, Writable } from 'node:stream';
import { FluxClient } from '@flux/client';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Logger } from 'pino';
import packageJson from '../package.json' with { type: 'json' };
import { ChangeHub } from './change-hub.js';
import { clientPort } from './client-port.js';
import { createFluxMcpServer } from './flux-mcp-server.js';

export interface StdioServerOptions {
  /** Base URL of Flux. */
  readonly url: string;
  /** Namespace token sent with every call (public mode). */
  readonly token?: string;
  readonly logger?: Logger;
  /** Where MCP messages come from and go to (default: this process's stdin and stdout). */
  readonly input?: Readable;
  readonly output?: Writable;
}

export interface RunningStdioServer {
  /** Resolves when the MCP client went away (its end of stdin closed) or close() was called. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/**
 * The MCP server for one local agent over stdio (`npx flux mcp`): the same tools and resources
 * as /mcp, calling the Flux at `url` with `token`. Nothing but MCP messages is written to the
 * output; logs belong on stderr.
 */
export async function runStdioServer(options: StdioServerOptions): Promise<RunningStdioServer> {
  const input = options.input ?? process.stdin;
  const flux = clientPort(new FluxClient({ url: options.url, ...(options.token === undefined ? {} : { token: options.token }) }));
  const changes = new ChangeHub({ openWatch: () => flux.watch({}), ...(options.logger === undefined ? {} : { logger: options.logger }) });
  const server = createFluxMcpServer({
    flux,
    changes,
    version: packageJson.version,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const dropSubscriptions = server.server.onclose;
  server.server.onclose = () => {
    dropSubscriptions?.();
    changes.close();
    markClosed();
  };
  const close = async (): Promise<void> => server.close();
  // The transport does not notice the end of its input: that is the client going away.
  const ended = (): void => void close();
  input.once('end', ended);
  input.once('close', ended);
  await server.connect(new StdioServerTransport(input, options.output ?? process.stdout));
  return { closed, close };
}
