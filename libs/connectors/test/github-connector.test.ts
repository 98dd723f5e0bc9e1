/** The GitHub connector and the runtime, against a fake GitHub API over real HTTP, on real LMDB stores. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GITHUB_REJECTED_TOKEN, GitHubConnector, observationEventId } from '@flux/connectors';
import { FakeGitHubApi, isoAt } from './support/fake-github-api.js';
import { openHarness, tempDir, type Harness, type TempDir } from './support/harness.js';
import { ManualClock } from './support/manual-clock.js';

const INTERVAL_SECONDS = 300;
let api: FakeGitHubApi;
let dir: TempDir;
let harness: Harness;
let clock: ManualClock;
let token: string;
let tokenCounter = 0;

const connector = (options: { maxPages?: number } = {}) =>
  new GitHubConnector({ apiUrl: api.url, pollIntervalSeconds: INTERVAL_SECONDS, timeoutMs: 5_000, ...options });

beforeAll(async () => {
  api = await FakeGitHubApi.start();
});
afterAll(async () => {
  await api.close();
});

beforeEach(async () => {
  api.repos = [];
  api.notifications = [];
  api.rateLimit = undefined;
  api.failures = [];
  api.delays = [];
  api.maxPerPage = 100;
  token = `ghp_test_${++tokenCounter}_${Date.now()}`;
  api.goodTokens.add(token);
  clock = new ManualClock(Date.parse('2024-06-01T00:00:00Z'));
  dir = await tempDir();
});
afterEach(async () => {
  await harness?.close();
  await dir.remove();
});

function seedDefault(): void {
  const flux = api.addRepo('octo', 'flux', { stars: 42, forks: 5, updated_at: isoAt(5) });
  flux.issues.push(
    { number: 1, title: 'A bug', state: 'open', author: 'alice', created_at: isoAt(1), updated_at: isoAt(2) },
    { number: 2, title: 'A feature', state: 'open', author: 'bob', created_at: isoAt(3), updated_at: isoAt(4), pull_request: true },
  );
  api.addRepo('octo', 'quiet', { description: null, language: null, private: true });
  api.notifications.push({
    id: '9001',
    reason: 'mention',
    unread: true,
    updated_at: isoAt(6),
    subject: { title: 'You were mentioned', type: 'Issue', url: 'https://api.github.com/repos/octo/flux/issues/1' },
  });
}

async function open(options: { maxPages?: number; authEnabled?: boolean } = {}): Promise<Harness> {
  harness = await openHarness(dir.path, {
    connectors: [connector(options)],
    clock,
    ...(options.authEnabled === undefined ? {} : { authEnabled: options.authEnabled }),
  });
  return harness;
}

describe('GitHub connector', () => {
  it('publishes repositories, open issues and pull requests, and notifications with the documented ids and properties', async () => {
    seedDefault();
    await open();
    await harness.connectorService.storeToken('', 'github', { token });
    await harness.runtime().runOnce();
    await harness.settle();

    expect((await harness.entity('github/repo/octo/flux'))?.properties).toEqual({
      name: 'flux',
      full_name: 'octo/flux',
      description: 'Repository flux',
      language: 'TypeScript',
      stars: 42,
      forks: 5,
      open_issues: 2,
      private: false,
      updated_at: isoAt(5),
    });
    // null removes a property: a repository without description or language has neither.
    expect((await harness.entity('github/repo/octo/quiet'))?.properties).toEqual({
      name: 'quiet',
      full_name: 'octo/quiet',
      stars: 3,
      forks: 1,
      open_issues: 0,
      private: true,
      updated_at: isoAt(0),
    });
    expect((await harness.entity('github/issue/octo/flux/1'))?.properties).toEqual({
      number: 1,
      title: 'A bug',
      state: 'open',
      author: 'alice',
      created_at: isoAt(1),
      updated_at: isoAt(2),
      is_pull_request: false,
    });
    expect((await harness.entity('github/issue/octo/flux/2'))?.properties).toMatchObject({ number: 2, is_pull_request: true });
    expect((await harness.entity('github/notification/9001'))?.properties).toEqual({
      id: '9001',
      reason: 'mention',
      unread: true,
      updated_at: isoAt(6),
      subject_title: 'You were mentioned',
      subject_type: 'Issue',
      subject_url: 'https://api.github.com/repos/octo/flux/issues/1',
    });

    const events = await harness.events();
    expect(events).toHaveLength(5);
    for (const event of events) {
      expect(event.stream).toBe('connectors.github');
      expect(event.source).toBe('flux-connector/github');
      expect(event.eventId).toBe(observationEventId('github', event.payload.entity_id, event.payload.properties));
      expect(event.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    // The issue's own update time is the event timestamp.
    expect(events.find((event) => event.payload.entity_id === 'github/issue/octo/flux/1')?.timestamp).toBe(Date.parse(isoAt(2)));

    // Every request is authenticated the way GitHub documents, and repos without open issues are not listed.
    for (const seen of api.requestsWith(token)) {
      expect(seen.headers.authorization).toBe(`Bearer ${token}`);
      expect(seen.headers.accept).toBe('application/vnd.github+json');
      expect(seen.headers['user-agent']).toBeTruthy();
    }
    expect(api.requestsWith(token, /\/issues$/).map((seen) => seen.pathname)).toEqual(['/repos/octo/flux/issues']);

    const detail = await harness.connectorService.detail('', 'github');
    expect(detail).toMatchObject({ status: 'configured', enabled: true, last_error: null, last_poll: new Date(clock.now()).toISOString() });
  });

  it('follows Link pagination, up to the page cap', async () => {
    api.maxPerPage = 100;
    for (let index = 0; index < 250; index++) api.addRepo('many', `repo-${String(index).padStart(3, '0')}`);
    await open();
    await harness.connectorService.storeToken('', 'github', { token });
    await harness.runtime().runOnce();
    expect(api.requestsWith(token, /^\/user\/repos$/).map((seen) => seen.path)).toEqual([
      '/user/repos?per_page=100',
      '/user/repos?per_page=100&page=2',
      '/user/repos?per_page=100&page=3',
    ]);
    const published = (await harness.events()).filter((event) => event.payload.entity_id.startsWith('github/repo/'));
    expect(new Set(published.map((event) => event.payload.entity_id)).size).toBe(250);
    await harness.close();

    // A second instance with a cap of two pages stops there.
    const capped = await tempDir();
    try {
      const other = await openHarness(capped.path, { connectors: [connector({ maxPages: 2 })], clock });
      try {
        const before = api.requests.length;
        await other.connectorService.storeToken('', 'github', { token });
        await other.runtime().runOnce();
        expect(api.requests.slice(before).filter((seen) => seen.pathname === '/user/repos')).toHaveLength(2);
        expect((await other.events()).filter((event) => event.payload.entity_id.startsWith('github/repo/'))).toHaveLength(200);
      } finally {
        await other.close();
      }
    } finally {
      await capped.remove();
    }
  });

  it('sends conditional requests next time: 304s publish nothing, and a change publishes only the changed item', async () => {
    seedDefault();
    await open();
    await harness.connectorService.storeToken('', 'github', { token });
    const runtime = harness.runtime();
    await runtime.runOnce();
    await harness.settle();
    const first = (await harness.events()).length;
    expect(first).toBe(5);

    // Not due yet: nothing happens before the interval.
    const requestsAfterFirst = api.requestsWith(token).length;
    clock.advance(INTERVAL_SECONDS * 1000 - 1);
    await runtime.runOnce();
    expect(api.requestsWith(token)).toHaveLength(requestsAfterFirst);

    clock.advance(1);
    await runtime.runOnce();
    const second = api.requestsWith(token).slice(requestsAfterFirst);
    expect(second.length).toBeGreaterThan(0);
    for (const seen of second.filter((request) => request.pathname !== '/notifications')) {
      expect(seen.headers['if-none-match'], `${seen.path} is conditional`).toBeDefined();
      expect(seen.status, seen.path).toBe(304);
    }
    // The notifications request asks only for what changed since the newest one seen (a new URL).
    const notifications = second.find((seen) => seen.pathname === '/notifications');
    expect(notifications?.path).toContain(`since=${encodeURIComponent(isoAt(6))}`);
    expect(await harness.events()).toHaveLength(first);

    // From then on every request is conditional and answered 304.
    const requestsAfterSecond = api.requestsWith(token).length;
    clock.advance(INTERVAL_SECONDS * 1000);
    await runtime.runOnce();
    const third = api.requestsWith(token).slice(requestsAfterSecond);
    expect(third.map((seen) => seen.pathname).sort()).toEqual(second.map((seen) => seen.pathname).sort());
    for (const seen of third) {
      expect(seen.headers['if-none-match'] ?? seen.headers['if-modified-since'], `${seen.path} is conditional`).toBeDefined();
      expect(seen.status, seen.path).toBe(304);
    }
    expect(await harness.events()).toHaveLength(first);

    api.repos[0]!.issues[0]!.title = 'A bug, renamed';
    api.repos[0]!.issues[0]!.updated_at = isoAt(30);
    clock.advance(INTERVAL_SECONDS * 1000);
    await runtime.runOnce();
    await harness.settle();
    const events = await harness.events();
    expect(events).toHaveLength(first + 1);
    const issueEvents = events.filter((event) => event.payload.entity_id === 'github/issue/octo/flux/1');
    expect(issueEvents.map((event) => event.payload.properties.title)).toEqual(['A bug', 'A bug, renamed']);
    expect((await harness.entity('github/issue/octo/flux/1'))?.properties.title).toBe('A bug, renamed');
  });

  it('an issue that is no longer open is published as closed (also when its repository has no open issue left)', async () => {
    seedDefault();
    const other = api.addRepo('octo', 'other');
    other.issues.push({ number: 5, title: 'Lonely', state: 'open', author: 'carol', created_at: isoAt(1), updated_at: isoAt(1) });
    await open();
    await harness.connectorService.storeToken('', 'github', { token });
    const runtime = harness.runtime();
    await runtime.runOnce();
    await harness.settle();
    expect((await harness.entity('github/issue/octo/other/5'))?.properties.state).toBe('open');

    api.repos[0]!.issues[0]!.state = 'closed';
    other.issues[0]!.state = 'closed';
    clock.advance(INTERVAL_SECONDS * 1000);
    await runtime.runOnce();
    await harness.settle();
    expect((await harness.entity('github/issue/octo/flux/1'))?.properties).toMatchObject({ state: 'closed', title: 'A bug', number: 1 });
    expect((await harness.entity('github/issue/octo/flux/2'))?.properties.state).toBe('open');
    expect((await harness.entity('github/issue/octo/other/5'))?.properties).toMatchObject({ state: 'closed', title: 'Lonely' });
    // The repository with no open issue is not listed any more.
    expect(api.requestsWith(token, /^\/repos\/octo\/other\/issues$/)).toHaveLength(1);

    const count = (await harness.events()).length;
    clock.advance(INTERVAL_SECONDS * 1000);
    await runtime.runOnce();
    await harness.settle();
    expect(await harness.events()).toHaveLength(count);
  });

  it('a 401 gives status error "GitHub rejected the token (401)" and no retry before the interval; a new token polls at once', async () => {
    seedDefault();
    await open();
    const bad = 'ghp_bad_token';
    await harness.connectorService.storeToken('', 'github', { token: bad });
    const runtime = harness.runtime();
    await runtime.runOnce();
    const detail = await harness.connectorService.detail('', 'github');
    expect(detail).toMatchObject({ status: 'error', last_error: GITHUB_REJECTED_TOKEN, last_poll: new Date(clock.now()).toISOString() });
    expect(await harness.embedded.control.getConnectorState('', 'github')).toMatchObject({ consecutiveFailures: 1 });
    expect(await harness.events()).toHaveLength(0);

    const attempts = api.requestsWith(bad).length;
    expect(attempts).toBe(1); // stopped at the first 401
    clock.advance(60_000);
    await runtime.runOnce();
    expect(api.requestsWith(bad)).toHaveLength(attempts);

    clock.advance(1);
    await harness.connectorService.storeToken('', 'github', { token });
    expect((await harness.connectorService.detail('', 'github')).status).toBe('configured');
    await runtime.runOnce();
    expect(api.requestsWith(token).length).toBeGreaterThan(0);
    expect(await harness.connectorService.detail('', 'github')).toMatchObject({ status: 'configured', last_error: null });
    expect(await harness.events()).toHaveLength(5);
  });

  it('transient failures are retried sooner and show as error only after repeated failures', async () => {
    seedDefault();
    api.failures.push({ path: /^\/user\/repos$/, status: 502 });
    await open();
    await harness.connectorService.storeToken('', 'github', { token });
    const runtime = harness.runtime({ retryBaseMs: 5_000, failureThreshold: 3 });

    await runtime.runOnce();
    expect(await harness.connectorService.detail('', 'github')).toMatchObject({ status: 'configured', last_error: null });
    clock.advance(5_000);
    await runtime.runOnce();
    expect((await harness.connectorService.detail('', 'github')).status).toBe('configured');
    clock.advance(10_000);
    await runtime.runOnce();
    const failing = await harness.connectorService.detail('', 'github');
    expect(failing.status).toBe('error');
    expect(failing.last_error).toMatch(/502.*3 consecutive failures/);
    expect(api.requestsWith(token, /^\/user\/repos$/)).toHaveLength(3);

    api.failures = [];
    clock.advance(20_000);
    await runtime.runOnce();
    expect(await harness.connectorService.detail('', 'github')).toMatchObject({ status: 'configured', last_error: null });
    expect(await harness.embedded.control.getConnectorState('', 'github')).toMatchObject({ consecutiveFailures: 0 });
  });

  it('backs off on X-RateLimit-Remaining: 0 until X-RateLimit-Reset, keeping what it got', async () => {
    seedDefault();
    const reset = Math.floor(clock.now() / 1000) + 1800;
    // Enough budget for the repository listing only: its response says 0 remaining.
    api.rateLimit = { remaining: 1, reset };
    await open();
    await harness.connectorService.storeToken('', 'github', { token });
    const runtime = harness.runtime();
    await runtime.runOnce();
    await harness.settle();

    // One request, then nothing: the client waits instead of spending requests it does not have.
    expect(api.requestsWith(token).map((seen) => seen.pathname)).toEqual(['/user/repos']);
    expect((await harness.events()).map((event) => event.payload.entity_id).sort()).toEqual(['github/repo/octo/flux', 'github/repo/octo/quiet']);
    expect((await harness.connectorService.detail('', 'github')).status).toBe('configured');
    const state = await harness.embedded.control.getConnectorState('', 'github');
    expect(state?.schedule?.notBefore).toBe(reset * 1000);

    // Still before the reset: no request at all.
    clock.set(reset * 1000 - 1);
    await runtime.runOnce();
    expect(api.requestsWith(token)).toHaveLength(1);

    // At the reset the poll resumes, before the regular interval would have come.
    api.rateLimit = { remaining: 5000, reset: reset + 3600 };
    clock.set(reset * 1000);
    await runtime.runOnce();
    await harness.settle();
    expect(api.requestsWith(token).length).toBeGreaterThan(1);
    expect(await harness.entity('github/issue/octo/flux/1')).toBeDefined();
    expect(await harness.entity('github/notification/9001')).toBeDefined();
    // Repositories were not published twice.
    expect(await harness.events()).toHaveLength(5);
  });

  it('a complete poll whose last response used up the rate limit waits past the interval until the reset', async () => {
    seedDefault();
    const reset = Math.floor(clock.now() / 1000) + 2 * 3600;
    api.rateLimit = { remaining: 3, reset }; // exactly the three listings of one poll
    await open();
    await harness.connectorService.storeToken('', 'github', { token });
    const runtime = harness.runtime();
    await runtime.runOnce();
    expect(api.requestsWith(token)).toHaveLength(3);
    expect(api.rateLimit.remaining).toBe(0);
    clock.advance(INTERVAL_SECONDS * 1000);
    await runtime.runOnce();
    expect(api.requestsWith(token)).toHaveLength(3);
    api.rateLimit = undefined;
    clock.set(reset * 1000);
    await runtime.runOnce();
    expect(api.requestsWith(token)).toHaveLength(6);
  });

  it('a 403 rate-limit answer waits until its reset too', async () => {
    seedDefault();
    const reset = Math.floor(clock.now() / 1000) + 600;
    api.rateLimit = { remaining: 0, reset };
    await open();
    await harness.connectorService.storeToken('', 'github', { token });
    const runtime = harness.runtime();
    await runtime.runOnce();
    expect(api.requestsWith(token)).toHaveLength(1);
    expect(api.requestsWith(token)[0]?.status).toBe(403);
    expect((await harness.connectorService.detail('', 'github')).status).toBe('configured');
    clock.set(reset * 1000 - 1000);
    await runtime.runOnce();
    expect(api.requestsWith(token)).toHaveLength(1);
    api.rateLimit = undefined;
    clock.set(reset * 1000);
    await runtime.runOnce();
    await harness.settle();
    expect(await harness.events()).toHaveLength(5);
  });
});

describe('restart without duplicates', () => {
  it('a second runtime on the same data publishes nothing already published', async () => {
    seedDefault();
    await open();
    await harness.connectorService.storeToken('', 'github', { token });
    await harness.runtime().runOnce();
    await harness.settle();
    const published = await harness.events();
    expect(published).toHaveLength(5);
    await harness.close();

    // Restart: new process state (lease, runtime) on the same LMDB data; the token is due again.
    await open();
    clock.advance(INTERVAL_SECONDS * 1000);
    await harness.runtime().runOnce();
    await harness.settle();
    expect(await harness.events()).toHaveLength(5);
  });

  it('a crash after publishing but before the cursors were saved publishes nothing twice', async () => {
    seedDefault();
    await open();
    await harness.connectorService.storeToken('', 'github', { token });
    // The first runtime "crashes" when it saves the poll's cursors: the events are in the log, the cursors are not.
    const control = harness.embedded.control;
    const crashing = harness.runtime({
      control: {
        listCredentials: () => control.listCredentials(),
        getCredential: (owner, name) => control.getCredential(owner, name),
        getConnectorState: (owner, name) => control.getConnectorState(owner, name),
        getNamespace: (name) => control.getNamespace(name),
        putConnectorState: () => Promise.reject(new Error('crash')),
      },
    });
    await crashing.runOnce();
    const published = await harness.events();
    expect(published).toHaveLength(5);
    expect((await control.getConnectorState('', 'github'))?.cursors).toEqual({});
    await harness.close();

    await open();
    await harness.runtime().runOnce();
    await harness.settle();
    // Everything was fetched again (no cursors), and nothing was published again.
    expect(api.requestsWith(token, /^\/user\/repos$/).filter((seen) => seen.status === 200)).toHaveLength(2);
    const events = await harness.events();
    expect(events.map((event) => event.eventId)).toEqual(published.map((event) => event.eventId));
    expect((await harness.connectorService.detail('', 'github')).status).toBe('configured');
  });
});

describe('public mode', () => {
  it('publishes into the namespace of the credential owner', async () => {
    seedDefault();
    await open({ authEnabled: true });
    await harness.embedded.control.createNamespace({ namespaceId: 'n1', name: 'acme', createdAt: clock.now(), tokenHash: 'x'.repeat(64) });
    await harness.connectorService.storeToken('acme', 'github', { token });
    await harness.runtime().runOnce();
    await harness.settle();
    const ids = (await harness.events()).map((event) => event.payload.entity_id).sort();
    expect(ids).toEqual([
      'acme/github/issue/octo/flux/1',
      'acme/github/issue/octo/flux/2',
      'acme/github/notification/9001',
      'acme/github/repo/octo/flux',
      'acme/github/repo/octo/quiet',
    ]);
    expect(await harness.entity('acme/github/repo/octo/flux')).toBeDefined();
    expect(await harness.entity('github/repo/octo/flux')).toBeUndefined();
    expect((await harness.connectorService.detail('acme', 'github')).status).toBe('configured');
    expect((await harness.connectorService.detail('other', 'github')).status).toBe('not_configured');
  });

  it('does not poll the credential of a namespace that no longer exists', async () => {
    seedDefault();
    await open({ authEnabled: true });
    await harness.embedded.control.createNamespace({ namespaceId: 'n2', name: 'gone', createdAt: clock.now(), tokenHash: 'y'.repeat(64) });
    await harness.connectorService.storeToken('gone', 'github', { token });
    await harness.embedded.control.deleteNamespace('gone');
    await harness.runtime().runOnce();
    expect(api.requestsWith(token)).toHaveLength(0);
    expect(await harness.events()).toHaveLength(0);
  });
});
