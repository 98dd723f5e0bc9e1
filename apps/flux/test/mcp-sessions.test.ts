/**
 * Sessions of /mcp: bound to the token that opened them, bounded in number (a busy server
 * refuses, an idle session makes room), closed when idle and when the server stops.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentKindName, startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import { request, waitFor, type ApiResponse } from './support/client.js';
import { callOk, callTool, progressSignal } from './support/mcp.js';

const IDLE_SECONDS = 5;
let flux: Deployment;

beforeAll(async () => {
  flux = await startDeployment({ env: { FLUX_MCP_MAX_SESSIONS: '2', FLUX_MCP_SESSION_IDLE_SECONDS: String(IDLE_SECONDS) } });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await flux?.dispose();
});

interface Session {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
}

async function open(token: string): Promise<Session> {
  const client = new Client({ name: 'sessions-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${flux.baseUrl}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return { client, transport };
}

const MCP_HEADERS = { accept: 'application/json, text/event-stream', 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };

/** One JSON-RPC message posted to /mcp by hand. */
function post(message: object, headers: Record<string, string>): Promise<ApiResponse> {
  return request(flux, 'POST', '/mcp', { json: { jsonrpc: '2.0', ...message }, headers: { ...MCP_HEADERS, ...headers } });
}

const initialize = {
  id: 1,
  method: 'initialize',
  params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

/** True once the session's next request is answered 404 (the session is gone). */
async function isGone(session: Session): Promise<boolean> {
  try {
    await session.client.listTools();
    return false;
  } catch (error) {
    return (error as { code?: unknown }).code === 404;
  }
}

describe('MCP sessions over streamable HTTP', () => {
  it('answer only to the token that opened them; unknown sessions are 404, requests without one 400', async () => {
    const session = await open('token-a');
    try {
      const sessionId = session.transport.sessionId ?? '';
      expect(sessionId).not.toBe('');
      const other = await post({ id: 2, method: 'tools/list' }, { 'mcp-session-id': sessionId, authorization: 'Bearer token-b' });
      expect(other.status).toBe(403);
      expect(other.body.error.data).toEqual({ code: 'FLUX_FORBIDDEN' });
      const unknown = await post({ id: 2, method: 'tools/list' }, { 'mcp-session-id': 'no-such-session', authorization: 'Bearer token-a' });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe(-32001);
      expect((await post({ id: 2, method: 'tools/list' }, {})).status).toBe(400);
      expect((await post(initialize, { authorization: 'Basic eDp5' })).status).toBe(401);
      expect((await session.client.listTools()).tools.length).toBeGreaterThan(0);
    } finally {
      await session.transport.terminateSession();
      await session.client.close();
    }
  });

  it('are bounded: refused with 503 while all are busy, an idle one is closed to make room', async () => {
    // The bound is per process: open busy sessions until the next one is refused (two for the
    // embedded server, two per query gateway in the cluster).
    const busy: Array<{ session: Session; done: Promise<unknown> }> = [];
    let refused: ApiResponse | undefined;
    while (refused === undefined && busy.length < 8) {
      const attempt = await post(initialize, {});
      if (attempt.status === 503) {
        refused = attempt;
        break;
      }
      await request(flux, 'DELETE', '/mcp', { headers: { ...MCP_HEADERS, 'mcp-session-id': attempt.headers.get('mcp-session-id') ?? '' } });
      const session = await open(`token-${busy.length}`);
      const progress = progressSignal();
      const done = callTool(session.client, 'wait_for_change', { prefix: 'nobody/', timeout_seconds: IDLE_SECONDS }, progress.onprogress);
      await progress.listening;
      busy.push({ session, done });
    }
    expect(refused?.status, `sessions admitted: ${busy.length}`).toBe(503);
    expect(refused?.headers.get('retry-after')).toBe('30');
    expect(refused?.body.error.data).toEqual({ code: 'FLUX_UNAVAILABLE' });

    for (const wait of busy) expect(((await wait.done) as { structuredContent: unknown }).structuredContent).toMatchObject({ timed_out: true });
    // Idle sessions now make room: newcomers are admitted, closing one of the earlier sessions
    // (in the cluster, once a newcomer reaches a gateway that is full).
    const newcomers: Session[] = [];
    let gone: boolean[] = [];
    while (newcomers.length < 4 && !gone.some(Boolean)) {
      const newcomer = await open(`token-new-${newcomers.length}`);
      newcomers.push(newcomer);
      expect((await callOk(newcomer.client, 'get_entity', { entity_id: 'nobody/x' })).found).toBe(false);
      gone = await Promise.all(busy.map(({ session }) => isGone(session)));
    }
    expect(gone.filter(Boolean), 'sessions closed to make room').toHaveLength(1);
    await Promise.all([...newcomers, ...busy.map(({ session }) => session)].map(({ client }) => client.close()));
  }, 60_000);

  // The metric is per process, and the cluster's balancer picks the gateway that answers.
  it.skipIf(deploymentKindName() === 'cluster')(
    'are closed after FLUX_MCP_SESSION_IDLE_SECONDS without a message',
    async () => {
      const session = await open('token-idle');
      await callOk(session.client, 'get_entity', { entity_id: 'nobody/x' });
      // Watched through /metrics, without touching the session.
      await waitFor(async () => /^flux_mcp_sessions 0$/m.test((await request(flux, 'GET', '/metrics')).text), {
        timeoutMs: IDLE_SECONDS * 1000 * 4,
        intervalMs: 250,
        what: 'the idle session to close',
      });
      expect(await isGone(session)).toBe(true);
      await session.client.close();
    },
    60_000,
  );

  it('are closed when the server stops, notification streams included', async () => {
    const session = await open('token-d');
    await callOk(session.client, 'get_entity', { entity_id: 'nobody/x' });
    expect(await flux.stop()).toBe(0);
    await session.client.close();
  }, 60_000);
});
