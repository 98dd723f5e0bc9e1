/** The runtime's scheduling: background polling, token deletion, leases, stop. Real HTTP, real LMDB. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GitHubConnector, pollLeaseKey } from '@flux/connectors';
import { MemoryPollLease } from '@flux/embedded';
import { FakeGitHubApi, isoAt } from './support/fake-github-api.js';
import { openHarness, tempDir, type Harness, type TempDir } from './support/harness.js';
import { ManualClock } from './support/manual-clock.js';
import { pause, waitUntil } from './support/wait.js';

let api: FakeGitHubApi;
let dir: TempDir;
let harness: Harness | undefined;
let token: string;
let counter = 0;

beforeAll(async () => {
  api = await FakeGitHubApi.start();
});
afterAll(async () => {
  await api.close();
});
beforeEach(async () => {
  api.repos = [];
  api.delays = [];
  const repo = api.addRepo('octo', 'flux', { updated_at: isoAt(1) });
  repo.issues.push({ number: 7, title: 'Seven', state: 'open', author: 'alice', created_at: isoAt(0), updated_at: isoAt(2) });
  token = `ghp_runtime_${++counter}_${Date.now()}`;
  api.goodTokens.add(token);
  dir = await tempDir();
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await dir.remove();
});

const github = (pollIntervalSeconds: number) => new GitHubConnector({ apiUrl: api.url, pollIntervalSeconds, timeoutMs: 10_000 });
const repoListings = () => api.requestsWith(token, /^\/user\/repos$/).length;

describe('connector runtime (real time)', () => {
  it('polls a newly stored token within the scan interval, then on every poll interval', async () => {
    harness = await openHarness(dir.path, { connectors: [github(1)] });
    const runtime = harness.runtime({ scanIntervalMs: 100 });
    runtime.start();
    await pause(250);
    expect(repoListings()).toBe(0);
    const stored = Date.now();
    await harness.connectorService.storeToken('', 'github', { token });
    await waitUntil(() => repoListings() >= 1, 'the first poll');
    expect(Date.now() - stored).toBeLessThan(1_000);
    await waitUntil(() => repoListings() >= 3, 'two more polls at the 1 s interval', 5_000);
    const detail = await harness.connectorService.detail('', 'github');
    expect(detail).toMatchObject({ status: 'configured', last_error: null, poll_interval_seconds: 1 });
    // Three polls, one observation each: nothing published twice.
    await harness.settle();
    expect(await harness.events()).toHaveLength(2);
  });

  it('deleting the token stops polling within one interval', async () => {
    harness = await openHarness(dir.path, { connectors: [github(1)] });
    harness.runtime({ scanIntervalMs: 100 }).start();
    await harness.connectorService.storeToken('', 'github', { token });
    await waitUntil(() => repoListings() >= 2, 'two polls');
    await harness.connectorService.deleteToken('', 'github');
    await pause(300); // a poll that was already running may still finish its requests
    const after = api.requestsWith(token).length;
    await pause(1_500); // more than one interval
    expect(api.requestsWith(token)).toHaveLength(after);
    expect((await harness.connectorService.detail('', 'github')).status).toBe('not_configured');
  });

  it('deleting the token aborts a poll in flight, which then publishes nothing', async () => {
    api.delays.push({ path: /\/issues$/, ms: 3_000 });
    harness = await openHarness(dir.path, { connectors: [github(300)] });
    const runtime = harness.runtime({ scanIntervalMs: 100 });
    runtime.start();
    await harness.connectorService.storeToken('', 'github', { token });
    await waitUntil(() => api.requestsWith(token, /\/issues$/).length >= 1, 'the (slow) issues request');
    expect(runtime.polling).toEqual([pollLeaseKey('github', '')]);
    await harness.connectorService.deleteToken('', 'github');
    await waitUntil(() => runtime.polling.length === 0, 'the poll to be abandoned', 1_000);
    expect(await harness.events()).toHaveLength(0);
    expect(await harness.embedded.control.getConnectorState('', 'github')).toMatchObject({ lastPoll: null });
  });

  it('stop() aborts polls in flight and resolves promptly', async () => {
    api.delays.push({ path: /^\/user\/repos$/, ms: 5_000 });
    harness = await openHarness(dir.path, { connectors: [github(300)] });
    const runtime = harness.runtime({ scanIntervalMs: 100 });
    runtime.start();
    await harness.connectorService.storeToken('', 'github', { token });
    await waitUntil(() => repoListings() >= 1, 'the slow request');
    const started = Date.now();
    await runtime.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(runtime.polling).toEqual([]);
  });
});

describe('poll lease', () => {
  it('exactly one of two runtimes sharing a lease polls a credential at a time', async () => {
    api.delays.push({ path: /^\/user\/repos$/, ms: 300 });
    harness = await openHarness(dir.path, { connectors: [github(300)] });
    const lease = new MemoryPollLease();
    const one = harness.runtime({ lease, holder: 'process-1' });
    const two = harness.runtime({ lease, holder: 'process-2' });
    await harness.connectorService.storeToken('', 'github', { token });
    await Promise.all([one.runOnce(), two.runOnce()]);
    expect(repoListings()).toBe(1);
    // The lease is released after the poll, and the shared state says it is not due again.
    await Promise.all([one.runOnce(), two.runOnce()]);
    expect(repoListings()).toBe(1);
    await harness.settle();
    expect(await harness.events()).toHaveLength(2);
  });

  it('another process takes over when the lease holder dies (its lease expires)', async () => {
    const clock = new ManualClock();
    harness = await openHarness(dir.path, { connectors: [github(300)], clock });
    const lease = new MemoryPollLease(() => clock.now());
    // A process that took the lease and died without releasing it.
    expect(await lease.acquire(pollLeaseKey('github', ''), 'dead-process', 30_000)).toBe(true);
    const survivor = harness.runtime({ lease, holder: 'survivor', leaseTtlMs: 30_000 });
    await harness.connectorService.storeToken('', 'github', { token });
    await survivor.runOnce();
    expect(repoListings()).toBe(0);
    clock.advance(29_999);
    await survivor.runOnce();
    expect(repoListings()).toBe(0);
    clock.advance(1);
    await survivor.runOnce();
    expect(repoListings()).toBe(1);
    expect((await harness.connectorService.detail('', 'github')).status).toBe('configured');
  });
});
