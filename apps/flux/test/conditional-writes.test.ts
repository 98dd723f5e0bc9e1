/**
 * Conditional writes: `if_version` / `if_absent` decided by the partition's reducer when it
 * applies the event. A failed condition changes nothing, is in the history as rejected, and
 * answers 409 version_conflict with the entity's current version. Agents racing to claim one
 * entity: exactly one wins, also when the process that applies it is killed mid-race (the
 * embedded server, or the reducer shard of the entity's partition in the cluster).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentKindName, startDeployment, STARTUP_TIMEOUT_MS, type Deployment } from './support/deployment.js';
import { encodeId, envelope, get, request, unique, waitFor, type ApiResponse, type Json } from './support/client.js';
import { expectError, expectStatus, POSITION_FIELDS } from './support/expect.js';
import { WsClient, isStateUpdate } from './support/ws-client.js';

let flux: Deployment;
let stateDir: string;

beforeAll(async () => {
  // The cluster launcher names its processes' pids here, so a test can kill a reducer shard.
  stateDir = await mkdtemp(join(tmpdir(), 'flux-conditional-'));
  flux = await startDeployment({
    env: { FLUX_CLUSTER_STATE_FILE: join(stateDir, 'cluster-state.json'), FLUX_CLUSTER_RESTART_DELAY_MS: '200' },
  });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await flux?.dispose();
  await rm(stateDir, { recursive: true, force: true });
});

const post = (path: string, json: unknown, timeoutMs = 20_000): Promise<ApiResponse> => request(flux, 'POST', path, { json, timeoutMs });
const conditional = (id: string, properties: Record<string, unknown>, condition: Record<string, unknown>): Record<string, unknown> => ({
  ...envelope(id, properties),
  ...condition,
});
const history = async (id: string): Promise<Json[]> => (await get(flux, `/api/events?entity=${encodeId(id)}&limit=500`)).body as Json[];

describe('conditions', () => {
  it('if_absent and if_version: apply when they hold, otherwise 409 version_conflict with the current version, and nothing changes', async () => {
    const id = `${unique('cond')}/task`;
    // A conditional write answers once decided, as wait=applied would.
    const created = await post('/api/events', conditional(id, { owner: 'a' }, { if_absent: true }));
    expectStatus(created, 200);
    expect(created.body).toEqual({ eventId: expect.any(String), stream: 'contract.tests', ...POSITION_FIELDS, version: 1 });

    const again = await post('/api/events', conditional(id, { owner: 'b' }, { if_absent: true }));
    expectError(again, 409);
    expect(again.body).toEqual({
      error: expect.any(String),
      code: 'version_conflict',
      current_version: 1,
      eventId: expect.any(String),
      position: expect.any(String),
    });
    expect((await post('/api/events', conditional(id, { owner: 'c' }, { if_version: 0 }))).body).toMatchObject({
      code: 'version_conflict',
      current_version: 1,
    });
    expect((await post('/api/events', conditional(id, { owner: 'd' }, { if_version: 2 }))).body).toMatchObject({
      code: 'version_conflict',
      current_version: 1,
    });
    const moved = await post('/api/events', conditional(id, { done: true }, { if_version: 1 }));
    expect(moved.body).toMatchObject({ version: 2 });

    const entity = (await get(flux, `/api/state/entities/${encodeId(id)}`)).body as Json;
    expect(entity).toMatchObject({ version: 2, properties: { owner: 'a', done: true }, position: (moved.body as Json).position });
    // Newest first: the rejected events are there, flagged, with the condition they carried.
    const events = await history(id);
    expect(events.map((event) => event.rejected?.current_version ?? 'applied')).toEqual(['applied', 1, 1, 1, 'applied']);
    expect(events[1]).toMatchObject({
      if_version: 2,
      rejected: { code: 'version_conflict', current_version: 1 },
      payload: { properties: { owner: 'd' } },
    });
    expect(events[3]).toMatchObject({ if_absent: true, eventId: (again.body as Json).eventId });
  });

  it('a rejected event reaches no WebSocket subscriber', async () => {
    const client = await WsClient.connect(flux.wsUrl);
    try {
      const id = `${unique('cond-ws')}/task`;
      client.subscribe(id);
      expectStatus(await post('/api/events?wait=applied', envelope(id, { step: 1 })), 200);
      expectStatus(await post('/api/events', conditional(id, { step: 'rejected' }, { if_version: 0 })), 409);
      expectStatus(await post('/api/events', conditional(id, { step: 2 }, { if_version: 1 })), 200);
      await client.waitForCount(isStateUpdate(id, 'step'), 2, { what: 'both applied updates' });
      expect(client.matching(isStateUpdate(id, 'step')).map((message) => message.value)).toEqual([1, 2]);
    } finally {
      await client.close();
    }
  });

  it('refuses conditions of the wrong type, or both at once, with 400 before appending anything', async () => {
    const id = `${unique('cond-bad')}/task`;
    for (const condition of [
      { if_version: -1 },
      { if_version: 1.5 },
      { if_version: '1' },
      { if_absent: 'yes' },
      { if_version: 0, if_absent: true },
    ]) {
      const response = await post('/api/events', conditional(id, { n: 1 }, condition));
      expect(expectError(response, 400), JSON.stringify(condition)).toMatch(/if_version|if_absent/);
    }
    expectStatus(await get(flux, `/api/state/entities/${encodeId(id)}`), 404);
    expect(await history(id)).toEqual([]);
  });

  it('decides each element of a batch on its own, in order, and reports each', async () => {
    const id = `${unique('cond-batch')}/slot`;
    const response = await post('/api/events/batch', {
      events: [
        conditional(id, { by: 1 }, { if_version: 0 }),
        conditional(id, { by: 2 }, { if_version: 0 }),
        conditional(id, { by: 3 }, { if_version: 1 }),
        conditional(id, { by: 4 }, { if_version: 'x' }),
      ],
    });
    expectStatus(response, 200);
    const body = response.body as Json;
    expect(body).toMatchObject({ successful: 2, failed: 2 });
    expect(body.results[0]).toMatchObject({ version: 1, ...POSITION_FIELDS });
    expect(body.results[1]).toEqual({
      error: expect.any(String),
      code: 'version_conflict',
      current_version: 1,
      eventId: expect.any(String),
      stream: 'contract.tests',
      ...POSITION_FIELDS,
    });
    expect(body.results[2]).toMatchObject({ version: 2 });
    expect(body.results[3]).toEqual({ error: expect.stringContaining('if_version'), stream: 'contract.tests' });
    expect((await get(flux, `/api/state/entities/${encodeId(id)}`)).body).toMatchObject({ version: 2, properties: { by: 3 } });
  });
});

interface AgentResult {
  readonly agent: string;
  /** What each attempt answered: a status, or `cut` when no answer came. */
  readonly answers: (number | 'cut')[];
  /** Milliseconds from the agent's first attempt to its deciding answer. */
  readonly ms: number;
}

/**
 * One agent claiming `id` at `version`, as an agent would: an answer that says nothing (no
 * answer, 5xx) is retried with the same condition until a 200 or a 409 decides. `answered`
 * hears every answer.
 */
async function claim(id: string, agent: string, version: number, answered: () => void): Promise<AgentResult> {
  const answers: (number | 'cut')[] = [];
  const started = Date.now();
  const deadline = started + 90_000;
  while (Date.now() < deadline) {
    try {
      const response = await post('/api/events?timeout_ms=30000', conditional(id, { owner: agent }, { if_version: version }), 40_000);
      answers.push(response.status);
      answered();
      if (response.status === 200 || response.status === 409) break;
    } catch {
      answers.push('cut');
    }
    // An agent's retry pace; the server may be restarting.
    await new Promise((resolveRetry) => setTimeout(resolveRetry, 100));
  }
  return { agent, answers, ms: Date.now() - started };
}

/** Kills what applies `partition`: the embedded server (then restarted), or the cluster's reducer shard. */
async function killApplier(partition: number): Promise<{ restarted: Promise<unknown> }> {
  if (deploymentKindName() === 'embedded') return { restarted: flux.restart({ signal: 'SIGKILL' }) };
  const state = JSON.parse(await readFile(join(stateDir, 'cluster-state.json'), 'utf8')) as { processes: Record<string, number> };
  const shards = Object.keys(state.processes).filter((name) => name.startsWith('reducer-')).length;
  const name = `reducer-${partition % shards}`;
  const pid = state.processes[name]!;
  process.kill(pid, 'SIGKILL');
  const restarted = waitFor(
    async () => {
      const now = JSON.parse(await readFile(join(stateDir, 'cluster-state.json'), 'utf8')) as { processes: Record<string, number> };
      return now.processes[name] !== undefined && now.processes[name] !== pid;
    },
    { timeoutMs: 60_000, what: `${name} to be restarted` },
  );
  return { restarted };
}

/**
 * Races `agents` claims of a fresh entity at version 1. The agents set off 10 ms apart. `kill`
 * runs as soon as the first answer arrives (`mid`: some claims are decided before it, some are
 * in flight, appended or not, applied or not, the rest come after), or before the first agent
 * sets off (`before`: in the cluster every claim is appended while its shard is down, and the
 * restarted shard decides them all).
 */
async function race(
  agents: number,
  kill?: (partition: number) => Promise<{ restarted: Promise<unknown> }>,
  when: 'before' | 'mid' = 'mid',
): Promise<void> {
  const id = `${unique('race')}/task`;
  const created = await post('/api/events?wait=applied', envelope(id, { owner: null, open: true }));
  expectStatus(created, 200);
  const partition = (created.body as Json).partition as number;
  const names = Array.from({ length: agents }, (_, i) => `agent-${i}`);
  let firstAnswer!: () => void;
  const answered = new Promise<void>((resolveAnswer) => {
    firstAnswer = resolveAnswer;
  });
  const killedBefore = kill !== undefined && when === 'before' ? await kill(partition) : undefined;
  const racing = Promise.all(
    names.map(async (agent, i) => {
      await new Promise((resolveStart) => setTimeout(resolveStart, i * 10));
      return claim(id, agent, 1, firstAnswer);
    }),
  );
  const killing = kill !== undefined && when === 'mid' ? answered.then(() => kill(partition)) : Promise.resolve(killedBefore);
  const results = await racing;
  await (
    await killing
  )?.restarted;

  // The state and the history have exactly one winner.
  const entity = await waitFor(
    async () => {
      const response = await get(flux, `/api/state/entities/${encodeId(id)}`);
      return response.status === 200 && response.body.version === 2 ? (response.body as Json) : undefined;
    },
    { timeoutMs: 30_000, what: `${id} to be claimed` },
  );
  const winner = entity.properties.owner as string;
  expect(names).toContain(winner);
  const events = (await history(id)).filter((event) => event.payload.properties.owner !== null);
  const applied = events.filter((event) => event.rejected === undefined);
  expect(applied.map((event) => event.payload.properties.owner)).toEqual([winner]);
  for (const rejected of events.filter((event) => event.rejected !== undefined))
    expect(rejected.rejected).toEqual({ code: 'version_conflict', current_version: 2 });

  // Every agent was told the truth: 200 only to the winner, 409 to the others (the winner may
  // have heard 409 on a retry after its winning attempt got no answer).
  for (const { agent, answers } of results) {
    const last = answers.at(-1);
    expect([200, 409], `${agent}: ${answers.join(',')}`).toContain(last);
    if (agent !== winner) expect(answers, `${agent} lost`).not.toContain(200);
    else if (last === 409)
      expect(
        answers.slice(0, -1).some((answer) => answer !== 409),
        `${winner} won without an answer`,
      ).toBe(true);
  }
  console.log(
    JSON.stringify({
      race: {
        deployment: deploymentKindName(),
        agents,
        killed: kill === undefined ? 'no' : when,
        winner,
        answers: results.map((result) => `${result.answers.join('/')} in ${result.ms} ms`),
      },
    }),
  );
}

describe('agents racing to claim one entity', () => {
  it('20 agents, one winner', async () => {
    await race(20);
  }, 120_000);

  it('20 agents, one winner, with what applies the partition killed mid-race', async () => {
    await race(20, killApplier);
  }, 180_000);

  it('20 agents, one winner, with what applies the partition killed as they set off', async () => {
    await race(20, killApplier, 'before');
  }, 180_000);
});
