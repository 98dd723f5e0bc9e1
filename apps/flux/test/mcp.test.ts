/**
 * The MCP server, driven by the MCP SDK's own Client over both transports: streamable HTTP at
 * Flux's /mcp, and stdio (the server process `npx flux mcp` runs) against the same deployment.
 * Public mode, so that tokens and namespace rules are part of what is checked.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicEnv, REPO_ROOT, startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import { publishOk, registerNamespace, unique, type Json } from './support/client.js';
import { callError, callOk, callTool, connectHttp, connectStdio, entityUri, progressSignal, type McpConnect } from './support/mcp.js';

const ADMIN = 'mcp-admin-token-abcdefghijklmnop';
const TOOLS = ['delete_entity', 'get_entity', 'history', 'list_entities', 'publish', 'publish_batch', 'wait_for_change'];

let flux: Deployment;

const textOf = (content: object | undefined): string => (content !== undefined && 'text' in content ? String(content.text) : '');

beforeAll(async () => {
  flux = await startDeployment({ env: publicEnv(ADMIN) });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await flux?.dispose();
});

describe.each([
  ['streamable HTTP', connectHttp],
  ['stdio', connectStdio],
] as Array<[string, McpConnect]>)('MCP over %s', (_transport, connect) => {
  let ns: { name: string; token: string };
  let mcp: Client;
  /** An id of this suite's namespace. */
  const id = (rest: string): string => `${ns.name}/${rest}`;
  /** Waits (with the tool itself) until the entity is past `version`; resolves with it. */
  const applied = async (entityId: string, sinceVersion: number): Promise<Json> => {
    const outcome = await callOk(mcp, 'wait_for_change', { entity_id: entityId, since_version: sinceVersion, timeout_seconds: 20 });
    expect(outcome.changed, `${entityId} past version ${sinceVersion}`).toBe(true);
    return outcome.changes[0].entity;
  };

  beforeAll(async () => {
    ns = await registerNamespace(flux, unique('mcp'), ADMIN);
    mcp = await connect(flux, ns.token);
  }, 60_000);

  afterAll(async () => {
    await mcp?.close();
  });

  it('announces the tools, the entity resource template with subscriptions, and instructions', async () => {
    const { tools } = await mcp.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(TOOLS);
    for (const tool of tools) {
      expect(tool.description?.length, `${tool.name} description`).toBeGreaterThan(100);
      expect(tool.outputSchema, `${tool.name} output schema`).toBeDefined();
    }
    const publish = tools.find((tool) => tool.name === 'publish');
    expect(publish?.description).toMatch(/null removes/);
    expect(publish?.description).toMatch(/namespace of your token followed by "\/"/);
    expect(publish?.inputSchema.required).toEqual(['entity_id', 'properties']);
    expect(mcp.getServerCapabilities()?.resources?.subscribe).toBe(true);
    const { resourceTemplates } = await mcp.listResourceTemplates();
    expect(resourceTemplates.map((template) => template.uriTemplate)).toEqual(['flux://entities/{id}']);
    expect(mcp.getInstructions()).toMatch(/flux-core\/directory/);
  });

  it('publish merges properties (null removes one); get_entity, history and delete_entity follow', async () => {
    const entityId = id('robot-1');
    const first = await callOk(mcp, 'publish', { entity_id: entityId, properties: { battery: 80, task: 'dock' } });
    expect(first).toMatchObject({ entity_id: entityId, stream: 'mcp', eventId: expect.any(String) });
    await applied(entityId, 0);
    await callOk(mcp, 'publish', { entity_id: entityId, properties: { battery: 75, task: null }, stream: 'robots', source: 'planner' });
    const entity = await applied(entityId, 1);
    expect(entity).toMatchObject({ id: entityId, version: 2, properties: { battery: 75 } });

    expect(await callOk(mcp, 'get_entity', { entity_id: entityId })).toMatchObject({
      found: true,
      entity: { properties: { battery: 75 }, version: 2 },
    });
    expect(await callOk(mcp, 'get_entity', { entity_id: id('nobody') })).toEqual({ found: false });

    const { events } = await callOk(mcp, 'history', { entity_id: entityId, limit: 10 });
    expect(events.map((event: Json) => event.payload.properties)).toEqual([
      { battery: 75, task: null },
      { battery: 80, task: 'dock' },
    ]);
    expect(events[0]).toMatchObject({ stream: 'robots', source: 'planner' });
    // Without a source, events name the MCP client.
    expect(events[1].source).toBe('mcp:flux-contract-suite');

    const deleted = await callOk(mcp, 'delete_entity', { entity_id: entityId });
    expect(deleted).toMatchObject({ entity_id: entityId, eventId: expect.any(String) });
    const gone = await callOk(mcp, 'wait_for_change', { entity_id: entityId, since_version: 2, timeout_seconds: 20 });
    expect(gone.changes).toEqual([{ entity_id: entityId, deleted: true, entity: null }]);
    expect(await callOk(mcp, 'get_entity', { entity_id: entityId })).toEqual({ found: false });
  });

  it('publish_batch applies each event on its own; list_entities pages with next_cursor and filters', async () => {
    const outcome = await callOk(mcp, 'publish_batch', {
      events: [
        { entity_id: id('shelf/a'), properties: { items: 1 } },
        { entity_id: 'someone-else/shelf', properties: { items: 2 } },
        { entity_id: id('shelf/b'), properties: { items: 3 } },
      ],
    });
    expect(outcome).toMatchObject({ accepted: 2, refused: 1 });
    expect(outcome.results.map((result: Json) => result.ok)).toEqual([true, false, true]);
    expect(outcome.results[1].error).toEqual(expect.any(String));
    await applied(id('shelf/a'), 0);
    await applied(id('shelf/b'), 0);

    const first = await callOk(mcp, 'list_entities', { prefix: id('shelf/'), limit: 1 });
    expect(first.entities.map((entity: Json) => entity.id)).toEqual([id('shelf/a')]);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await callOk(mcp, 'list_entities', { prefix: id('shelf/'), limit: 1, cursor: first.next_cursor });
    expect(second.entities.map((entity: Json) => entity.id)).toEqual([id('shelf/b')]);
    expect(second.next_cursor, 'no cursor after the last page').toBeUndefined();
    const both = await callOk(mcp, 'list_entities', { namespace: ns.name, prefix: id('shelf/') });
    expect(both.entities.map((entity: Json) => entity.id)).toEqual([id('shelf/a'), id('shelf/b')]);
    const filtered = await callOk(mcp, 'list_entities', { prefix: id('shelf/'), filter: 'items > 2' });
    expect(filtered.entities.map((entity: Json) => entity.id)).toEqual([id('shelf/b')]);
    const badFilter = await callError(mcp, 'list_entities', { prefix: id('shelf/'), filter: 'items >' });
    expect(badFilter).toMatchObject({ code: 'FLUX_VALIDATION', status: 400 });
    expect(badFilter.text).toMatch(/filter: /);
  });

  it('failures are tool errors carrying the server code and what to do', async () => {
    const forbidden = await callError(mcp, 'publish', { entity_id: 'someone-else/x', properties: { a: 1 } });
    expect(forbidden).toMatchObject({ code: 'FLUX_FORBIDDEN', status: 403 });
    expect(forbidden.text).toMatch(/^FLUX_FORBIDDEN \(HTTP 403\): /);
    expect(forbidden.text).toMatch(/<namespace>\/<name>/);

    const invalid = await callError(mcp, 'publish', { entity_id: id('x'), properties: { a: 1 }, stream: 'Not A Stream' });
    expect(invalid.text).toMatch(/stream/);
    const both = await callError(mcp, 'wait_for_change', { entity_id: id('x'), prefix: id('') });
    expect(both).toMatchObject({ code: 'FLUX_VALIDATION' });

    const anonymous = await connect(flux);
    try {
      expect(await callError(anonymous, 'delete_entity', { entity_id: id('x') })).toMatchObject({ code: 'FLUX_UNAUTHORIZED', status: 401 });
      // Reads are open to everyone.
      expect(await callOk(anonymous, 'get_entity', { entity_id: id('nobody') })).toEqual({ found: false });
    } finally {
      await anonymous.close();
    }
  });

  it('wait_for_change resolves on a change of an entity or of any entity under a prefix', async () => {
    const prefix = id('tasks/');
    const forPrefix = progressSignal();
    const prefixWait = callTool(mcp, 'wait_for_change', { prefix, timeout_seconds: 30 }, forPrefix.onprogress);
    await forPrefix.listening;
    await publishOk(flux, `${prefix}t1`, { state: 'claimed', by: 'agent-7' }, { token: ns.token });
    const seen = (await prefixWait).structuredContent as Json;
    expect(seen).toMatchObject({ changed: true, timed_out: false });
    expect(seen.changes).toEqual([
      {
        entity_id: `${prefix}t1`,
        deleted: false,
        changed_properties: { state: 'claimed', by: 'agent-7' },
        entity: expect.objectContaining({ version: 1, properties: { state: 'claimed', by: 'agent-7' } }),
      },
    ]);

    const forEntity = progressSignal();
    const entityWait = callTool(mcp, 'wait_for_change', { entity_id: `${prefix}t1`, timeout_seconds: 30 }, forEntity.onprogress);
    await forEntity.listening;
    await publishOk(flux, `${prefix}t1`, { state: 'done', by: null }, { token: ns.token });
    const done = (await entityWait).structuredContent as Json;
    expect(done.changes).toEqual([
      {
        entity_id: `${prefix}t1`,
        deleted: false,
        changed_properties: { state: 'done', by: null },
        entity: expect.objectContaining({ version: 2, properties: { state: 'done' } }),
      },
    ]);
  });

  it('wait_for_change times out cleanly, and answers at once when since_version is stale', async () => {
    const quiet = await callOk(mcp, 'wait_for_change', { prefix: id('nothing-here/'), timeout_seconds: 1 });
    expect(quiet).toEqual({ changed: false, timed_out: true, changes: [] });

    const entityId = id('stale');
    await publishOk(flux, entityId, { v: 1 }, { token: ns.token });
    await applied(entityId, 0);
    const stale = await callOk(mcp, 'wait_for_change', { entity_id: entityId, since_version: 0, timeout_seconds: 50 });
    expect(stale.changes[0]).toMatchObject({ entity_id: entityId, entity: { version: 1 } });
  });

  it('reads entities as resources and notifies subscribers of their changes', async () => {
    const entityId = id('door/front');
    const uri = entityUri(entityId);
    await publishOk(flux, entityId, { open: false }, { token: ns.token });
    await applied(entityId, 0);
    const read = await mcp.readResource({ uri });
    expect(read.contents).toHaveLength(1);
    expect(read.contents[0]).toMatchObject({ uri, mimeType: 'application/json' });
    expect(JSON.parse(textOf(read.contents[0]))).toMatchObject({ id: entityId, properties: { open: false }, version: 1 });
    const missing = await mcp.readResource({ uri: entityUri(id('door/none')) }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(missing).toBeInstanceOf(McpError);
    expect((missing as McpError).code).toBe(-32002);

    const updated: string[] = [];
    let notified!: () => void;
    const notification = new Promise<void>((resolve) => (notified = resolve));
    mcp.setNotificationHandler(ResourceUpdatedNotificationSchema, (message) => {
      updated.push(message.params.uri);
      notified();
    });
    await mcp.subscribeResource({ uri });
    await publishOk(flux, entityId, { open: true }, { token: ns.token });
    await notification;
    expect(updated[0]).toBe(uri);
    expect(JSON.parse(textOf((await mcp.readResource({ uri })).contents[0]))).toMatchObject({ properties: { open: true } });
    await mcp.unsubscribeResource({ uri });
  });
});

it('the stdio server exits by itself when its client closes its input', async () => {
  const server = spawn(join(REPO_ROOT, 'node_modules', '.bin', 'flux'), ['mcp'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', FLUX_URL: flux.baseUrl },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(server, 'exit');
  const initialize = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  };
  server.stdin.write(`${JSON.stringify(initialize)}\n`);
  const [answer] = (await once(createInterface({ input: server.stdout }), 'line')) as [string];
  expect(JSON.parse(answer)).toMatchObject({ id: 1, result: { serverInfo: { name: 'flux' } } });
  server.stdin.end();
  expect(await exited).toEqual([0, null]);
});
