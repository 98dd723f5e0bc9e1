import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import { FluxClient } from '@flux/client';
import { ChangeHub } from './change-hub.js';
import { clientPort } from './client-port.js';
import { createFluxMcpServer } from './flux-mcp-server.js';
import type { FluxPort } from './flux-port.js';
import { FORWARDED_HEADER, forwardToPeer, type McpPeers } from './peer-forwarding.js';

export interface McpHttpEndpointOptions {
  /** How sessions call Flux at `url` with `token` (default: a FluxClient). */
  readonly connect?: (url: string, token: string | undefined) => FluxPort;
  readonly version: string;
  readonly logger: Logger;
  /** Sessions kept at once; past it the least recently used idle one is closed. */
  readonly maxSessions: number;
  /** A session that sent no message for this long is closed (an open notification stream does not count). */
  readonly sessionIdleMs: number;
  /** The other processes serving /mcp behind the same address (the query gateways); none when alone. */
  readonly peers?: McpPeers;
}

interface Session {
  readonly id: string;
  readonly server: McpServer;
  readonly transport: StreamableHTTPServerTransport;
  readonly tokenHash: Buffer;
  /** Messages from the client in progress (POST, DELETE). */
  inFlight: number;
  lastActive: number;
}

const SESSION_HEADER = 'mcp-session-id';

/** JSON-RPC error codes of the answers the endpoint gives itself (the SDK's transport uses the same). */
const JSONRPC_SERVER_ERROR = -32000;
const JSONRPC_SESSION_NOT_FOUND = -32001;

const hashOf = (token: string | undefined): Buffer =>
  createHash('sha256')
    .update(token ?? '')
    .digest();

/** The bearer token of a request: undefined without Authorization, null when the header is not `Bearer <token>`. */
function bearerToken(request: IncomingMessage): string | undefined | null {
  const header = request.headers.authorization;
  if (header === undefined || header === '') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

function answer(
  response: ServerResponse,
  status: number,
  jsonRpcCode: number,
  fluxCode: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify({ jsonrpc: '2.0', error: { code: jsonRpcCode, message, data: { code: fluxCode } }, id: null }));
}

/**
 * MCP over streamable HTTP for a Flux server: a session per MCP client, each an MCP server
 * whose tools call Flux with the bearer token of the HTTP request that opened the session (later
 * requests of the session must carry the same token). Sessions are bounded in number and
 * closed when idle, so clients that vanish, or a stranger opening sessions, cannot grow memory.
 */
export class McpHttpEndpoint {
  /** This process among its peers: the first part of its session ids. */
  readonly instanceId = randomUUID();
  private readonly sessions = new Map<string, Session>();
  private readonly sweepTimer: NodeJS.Timeout;
  /** One change stream for every session (reads need no token), opened at the first session. */
  private changes: ChangeHub | undefined;
  private closed = false;
  /** Initialize requests in progress: counted against the bound before their session exists. */
  private opening = 0;
  private readonly connect: (url: string, token: string | undefined) => FluxPort;

  constructor(private readonly options: McpHttpEndpointOptions) {
    this.connect = options.connect ?? ((url, token) => clientPort(new FluxClient({ url, ...(token === undefined ? {} : { token }) })));
    this.sweepTimer = setInterval(() => this.closeIdle(), Math.max(50, Math.min(30_000, Math.floor(options.sessionIdleMs / 4))));
    this.sweepTimer.unref();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /**
   * Serves one HTTP request of /mcp (POST, GET or DELETE). `body` is the parsed JSON body;
   * `fluxUrl` is where this Flux's own API answers.
   */
  async handle(request: IncomingMessage, response: ServerResponse, body: unknown, fluxUrl: string): Promise<void> {
    const token = bearerToken(request);
    if (token === null) {
      answer(response, 401, JSONRPC_SERVER_ERROR, 'FLUX_UNAUTHORIZED', 'Authorization must be "Bearer <namespace token>"');
      return;
    }
    if (this.closed) {
      answer(response, 503, JSONRPC_SERVER_ERROR, 'FLUX_UNAVAILABLE', 'the server is shutting down');
      return;
    }
    const sessionId = request.headers[SESSION_HEADER];
    if (typeof sessionId === 'string') {
      await this.handleInSession(sessionId, token, request, response, body);
      return;
    }
    if (request.method !== 'POST' || !isInitializeRequest(body)) {
      answer(response, 400, JSONRPC_SERVER_ERROR, 'FLUX_VALIDATION', 'no Mcp-Session-Id header: start a session with an initialize request');
      return;
    }
    await this.openSession(token, request, response, body, fluxUrl);
  }

  /** Closes every session (their streams and waits end) and the change stream. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(sessions.map((session) => session.server.close()));
    this.changes?.close();
  }

  private async handleInSession(
    sessionId: string,
    token: string | undefined,
    request: IncomingMessage,
    response: ServerResponse,
    body: unknown,
  ): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (session === undefined) {
      if (await this.forward(sessionId, request, response, body)) return;
      // The MCP specification's answer to an unknown or expired session: the client starts a new one.
      answer(response, 404, JSONRPC_SESSION_NOT_FOUND, 'FLUX_NOT_FOUND', 'session not found (closed, expired or never opened): initialize a new one');
      return;
    }
    if (!timingSafeEqual(session.tokenHash, hashOf(token))) {
      answer(response, 403, JSONRPC_SERVER_ERROR, 'FLUX_FORBIDDEN', 'this session was opened with another token');
      return;
    }
    await this.serve(session, request, response, body);
  }

  /**
   * Passes the request on to the process that holds the session, when that is a live peer.
   * Why: sessions live in the memory of the process that opened them (their streams, waits and
   * subscriptions), while a load balancer spreads one client's connections over every replica.
   */
  private async forward(sessionId: string, request: IncomingMessage, response: ServerResponse, body: unknown): Promise<boolean> {
    const owner = sessionId.split('.', 1)[0] ?? '';
    if (this.options.peers === undefined || owner === this.instanceId || request.headers[FORWARDED_HEADER] !== undefined) return false;
    let peerUrl: string | undefined;
    try {
      peerUrl = await this.options.peers.lookup(owner);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'MCP peer lookup failed');
    }
    return peerUrl !== undefined && (await forwardToPeer(peerUrl, request, response, body));
  }

  private async openSession(
    token: string | undefined,
    request: IncomingMessage,
    response: ServerResponse,
    body: unknown,
    fluxUrl: string,
  ): Promise<void> {
    if (this.sessions.size + this.opening >= this.options.maxSessions && !this.evictOne()) {
      answer(
        response,
        503,
        JSONRPC_SERVER_ERROR,
        'FLUX_UNAVAILABLE',
        `too many MCP sessions in use (at most ${this.options.maxSessions}); retry later`,
        {
          'retry-after': '30',
        },
      );
      return;
    }
    this.changes ??= new ChangeHub({ openWatch: () => this.connect(fluxUrl, undefined).watch({}), logger: this.options.logger });
    const server = createFluxMcpServer({
      flux: this.connect(fluxUrl, token),
      changes: this.changes,
      version: this.options.version,
      logger: this.options.logger,
    });
    let session: Session | undefined;
    // Counted as opening until its session exists (or the attempt failed).
    let opening = true;
    const stopOpening = (): void => {
      if (opening) this.opening -= 1;
      opening = false;
    };
    this.opening += 1;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => `${this.instanceId}.${randomUUID()}`,
      onsessioninitialized: (id) => {
        // The initialize request in progress is the session's first request.
        session = { id, server, transport, tokenHash: hashOf(token), inFlight: 1, lastActive: Date.now() };
        this.sessions.set(id, session);
        stopOpening();
        this.options.logger.debug({ session: id, sessions: this.sessions.size }, 'MCP session opened');
      },
    });
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id !== undefined && this.sessions.get(id)?.transport === transport) {
        this.sessions.delete(id);
        this.options.logger.debug({ session: id, sessions: this.sessions.size }, 'MCP session closed');
      }
    };
    response.once('close', () => {
      if (session !== undefined) this.finished(session);
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(request, response, body);
    } finally {
      stopOpening();
    }
    // Refused by the transport (a malformed initialize): nothing to keep.
    if (session === undefined) await server.close();
  }

  private async serve(session: Session, request: IncomingMessage, response: ServerResponse, body: unknown): Promise<void> {
    session.lastActive = Date.now();
    // The notification stream (GET) stays open as long as the client likes: it neither keeps a
    // session from idling out nor from being the one closed to make room.
    if (request.method !== 'GET') {
      session.inFlight += 1;
      response.once('close', () => this.finished(session));
    }
    await session.transport.handleRequest(request, response, body);
  }

  private finished(session: Session): void {
    session.inFlight = Math.max(0, session.inFlight - 1);
    session.lastActive = Date.now();
  }

  /** Closes the least recently active session that has nothing in progress; false when every session is busy. */
  private evictOne(): boolean {
    let oldest: Session | undefined;
    for (const session of this.sessions.values()) {
      if (session.inFlight === 0 && (oldest === undefined || session.lastActive < oldest.lastActive)) oldest = session;
    }
    if (oldest === undefined) return false;
    this.options.logger.info({ session: oldest.id }, 'MCP session closed to make room for a new one');
    this.drop(oldest);
    return true;
  }

  private closeIdle(): void {
    const before = Date.now() - this.options.sessionIdleMs;
    for (const session of this.sessions.values()) {
      if (session.inFlight === 0 && session.lastActive < before) {
        this.options.logger.debug({ session: session.id }, 'idle MCP session closed');
        this.drop(session);
      }
    }
  }

  private drop(session: Session): void {
    this.sessions.delete(session.id);
    session.server.close().catch((error: unknown) => this.options.logger.warn({ err: error, session: session.id }, 'closing an MCP session failed'));
  }
}

/**
 * The `mcp` role of a Flux HTTP server for its settings: none when `maxSessions` is 0.
 *
 * Why the sessions call Flux's HTTP API over loopback, with the caller's token, instead of the
 * services in the process: the embedded server and a query gateway then serve /mcp with the same
 * code, although a query gateway has no ingest service of its own (it forwards writes), and every
 * tool call is authorised, rate-limited, validated and logged exactly like the same request
 * made directly. The cost is one local HTTP round trip per call.
 */
export function mcpEndpoint(
  settings: { readonly maxSessions: number; readonly sessionIdleMs: number },
  logger: Logger,
  version: string,
  peers?: McpPeers,
): { mcp?: McpHttpEndpoint } {
  if (settings.maxSessions === 0) return {};
  return {
    mcp: new McpHttpEndpoint({ ...settings, logger: logger.child({ component: 'mcp' }), version, ...(peers === undefined ? {} : { peers }) }),
  };
}
