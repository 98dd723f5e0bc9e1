/**
 * The dashboard at `/`, in headless Chromium against a real deployment: served by Flux with its
 * own Content Security Policy, rows that appear and change as events are published, an entity
 * with its history, the live charts, the directory, the connectors, the config form with the
 * admin token, and a test event published with a namespace token in public mode. Every view is
 * photographed into .ci/out/screenshots/.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeWithChromium, ensureDashboardBuilt, launchChromium, SCREENSHOT_DIR } from './browser.js';
import { get, publishOk, registerNamespace, request, unique, waitForEntity, type Json } from '../../../apps/flux/test/support/client.js';
import { publicEnv, startDeployment, STARTUP_TIMEOUT_MS, TEST_ENCRYPTION_KEY, type Deployment } from '../../../apps/flux/test/support/deployment.js';
import { expectStatus } from '../../../apps/flux/test/support/expect.js';
import { startFakeGitHub, type FakeGitHub } from '../../../apps/flux/test/support/fake-github.js';
import { startItemsServer, type ItemsServer } from './items-server.js';

const ADMIN = 'dashboard-admin-token-0123456789';
/** Frequent metrics_update messages, so the charts fill within a test. */
const FAST_METRICS = { FLUX_WS_METRICS_INTERVAL_MS: '500' };
const UI_TIMEOUT_MS = 15_000;

let github: FakeGitHub;
let items: ItemsServer; // the HTTP source's feed
let flux: Deployment; // internal mode, admin token, connectors on the fake GitHub
let pub: Deployment; // public mode
let browser: Browser;

describeWithChromium('dashboard', () => {
  beforeAll(async () => {
    await Promise.all([ensureDashboardBuilt(), mkdir(SCREENSHOT_DIR, { recursive: true })]);
    [github, items] = await Promise.all([startFakeGitHub(), startItemsServer()]);
    const connectorEnv = { FLUX_GITHUB_API_URL: github.url, FLUX_GITHUB_POLL_INTERVAL_SECONDS: '3600', FLUX_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY };
    [flux, pub, browser] = await Promise.all([
      // Private networks allowed: the HTTP source polls the local items server.
      startDeployment({ env: { ...connectorEnv, ...FAST_METRICS, FLUX_ADMIN_TOKEN: ADMIN, FLUX_CONNECTOR_ALLOW_PRIVATE_NETWORKS: 'true' } }),
      startDeployment({ env: publicEnv(ADMIN, { ...connectorEnv, ...FAST_METRICS }) }),
      launchChromium(),
    ]);
  }, STARTUP_TIMEOUT_MS + 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([flux?.dispose(), pub?.dispose()]);
    await Promise.all([github?.close(), items?.close()]);
  });

  describe('served by Flux', () => {
    it('/ is the page, never cached, with a policy of its own scripts and styles and its own WebSocket', async () => {
      const response = await get(flux, '/');
      expectStatus(response, 200, 'GET /');
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.text).toContain('<meta name="flux-mode" content="internal"');
      expect(response.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      const policy = new Map(
        (response.headers.get('content-security-policy') ?? '').split(';').map((directive) => {
          const [name = '', ...values] = directive.trim().split(/\s+/);
          return [name, values] as const;
        }),
      );
      expect(policy.get('default-src')).toEqual(["'self'"]);
      expect(policy.get('script-src')).toEqual(["'self'"]);
      expect(policy.get('style-src')).toEqual(["'self'"]);
      expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
      const host = new URL(flux.baseUrl).host;
      expect(policy.get('connect-src')).toEqual(["'self'", `ws://${host}`, `wss://${host}`]);
    });

    it('hashed assets are cached for good; an unknown asset is a JSON 404', async () => {
      const page = (await get(flux, '/')).text;
      const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(page)?.[1];
      expect(script, 'the page loads a hashed script').toMatch(/^assets\/index-[\w-]+\.js$/);
      const asset = await get(flux, `/${script}`);
      expectStatus(asset, 200, script);
      expect(asset.headers.get('content-type')).toMatch(/javascript/);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const missing = await get(flux, '/assets/index-missing.js');
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ error: expect.any(String), code: 'FLUX_NOT_FOUND' });
    });
  });

  describe('in the browser', () => {
    let context: BrowserContext;
    let page: Page;
    /** Uncaught errors and Content Security Policy violations: a test fails on any. */
    let problems: string[];

    beforeEach(async () => {
      context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      page = await context.newPage();
      problems = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (/content security policy/i.test(message.text())) problems.push(`console: ${message.text()}`);
      });
    });

    afterEach(async () => {
      await context?.close();
      expect(problems).toEqual([]);
    });

    const open = async (target: Deployment, fragment = '#/'): Promise<void> => {
      await page.goto(`${target.baseUrl}/${fragment}`);
      await page.getByText('Live', { exact: true }).waitFor({ timeout: UI_TIMEOUT_MS });
    };
    const screenshot = (name: string): Promise<Buffer> => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
    const rowOf = (id: string) => page.getByRole('row').filter({ has: page.getByRole('link', { name: id, exact: true }) });
    const cellsOf = async (id: string): Promise<string[]> => (await rowOf(id).getByRole('cell').allTextContents()).map((text) => text.trim());
    /** Evaluates an expression in the page (a string: this program is typed for Node, not the DOM). */
    const inPage = (expression: string): Promise<unknown> => page.evaluate<unknown>(expression);
    const poll = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: UI_TIMEOUT_MS, interval: 100 });

    it('lists entities live: rows appear and change as events are published, filtered by namespace, expression and search', async () => {
      const ns = unique('dash');
      const other = unique('dash-other');
      await publishOk(flux, `${other}/elsewhere`, { n: 1 });
      await open(flux, `#/?namespace=${ns}`);
      await page.getByText('0 shown of 0 loaded').waitFor({ timeout: UI_TIMEOUT_MS });
      // Set on this page load: still there at the end, so nothing below reloaded the page.
      await inPage('window.sameDocument = true');

      await publishOk(flux, `${ns}/sensor-01`, { temperature: 21.5, room: 'lab' });
      await publishOk(flux, `${ns}/sensor-02`, { temperature: 19 });
      await publishOk(flux, `${other}/elsewhere`, { n: 2 });
      await poll(() => cellsOf(`${ns}/sensor-01`)).toEqual(['temperature: 21.5, room: lab', '1', expect.any(String)]);
      await poll(() => cellsOf(`${ns}/sensor-02`)).toEqual(['temperature: 19', '1', expect.any(String)]);

      await publishOk(flux, `${ns}/sensor-01`, { temperature: 23, room: null });
      await poll(() => cellsOf(`${ns}/sensor-01`)).toEqual(['temperature: 23', '2', expect.any(String)]);
      expect(await rowOf(`${other}/elsewhere`).count(), 'an entity of another namespace').toBe(0);

      await page.getByLabel('Search the loaded entities').fill('sensor-02');
      await poll(() => page.locator('tbody tr').count()).toBe(1);
      await page.getByLabel('Search the loaded entities').fill('');
      await poll(() => page.locator('tbody tr').count()).toBe(2);

      await page.getByLabel('Namespace', { exact: true }).fill('');
      await page.getByLabel('Id prefix').fill(`${other}/`);
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await poll(() => cellsOf(`${other}/elsewhere`)).toEqual(['n: 2', '2', expect.any(String)]);
      expect(await rowOf(`${ns}/sensor-01`).count()).toBe(0);
      expect(await inPage('window.sameDocument')).toBe(true);

      // The server-side filter expression; a bad one is the server's error, shown inline.
      await page.getByLabel('Namespace', { exact: true }).fill(ns);
      await page.getByLabel('Id prefix').fill('');
      await page.getByLabel('Filter', { exact: true }).fill('temperature > 20');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await poll(() => cellsOf(`${ns}/sensor-01`)).toEqual(['temperature: 23', '2', expect.any(String)]);
      expect(await rowOf(`${ns}/sensor-02`).count(), 'temperature 19').toBe(0);
      expect(new URL(page.url()).hash).toBe(`#/?namespace=${ns}&filter=${encodeURIComponent('temperature > 20').replace(/%20/g, '+')}`);
      await page.getByLabel('Filter', { exact: true }).fill('temperature >');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await poll(async () => (await page.getByRole('alert').textContent()) ?? '').toMatch(/^Could not list the entities: filter: .*character/);
      expect(await page.locator('tbody tr').count()).toBe(0);

      await page.getByRole('button', { name: 'Clear' }).click();
      await poll(() => page.getByRole('alert').count()).toBe(0);
      await rowOf(`${ns}/sensor-02`).waitFor({ timeout: UI_TIMEOUT_MS });
      await screenshot('entities');
    });

    it('opens an entity with its properties, version, last update and history, and follows its changes', async () => {
      const id = `${unique('dash-entity')}/pump-1`;
      await publishOk(flux, id, { state: 'idle', rpm: 0 }, { stream: 'plant.pumps' });
      await publishOk(flux, id, { state: 'running', rpm: 1450 }, { stream: 'plant.pumps' });
      await waitForEntity(flux, id, (entity: Json) => entity.version === 2);
      await open(flux, `#/?prefix=${encodeURIComponent(id)}`);
      await rowOf(id).getByRole('link', { name: id }).click();

      await page.getByRole('heading', { level: 1, name: id }).waitFor({ timeout: UI_TIMEOUT_MS });
      await poll(() => page.getByTestId('entity-version').textContent()).toBe('2');
      const properties = page.getByRole('region', { name: 'Properties' });
      expect((await properties.getByRole('row', { name: /state/ }).textContent())?.replace(/\s+/g, '')).toBe('state"running"');
      await poll(() => page.getByRole('region', { name: 'Recent history' }).locator('tbody tr').count()).toBe(2);
      expect(await page.getByText('The newest 2 events, newest first').count()).toBe(1);
      expect(await page.locator('time').first().getAttribute('datetime')).toMatch(/^\d{4}-\d{2}-\d{2}T/);

      await publishOk(flux, id, { rpm: 1500 });
      await poll(() => page.getByTestId('entity-version').textContent()).toBe('3');
      await poll(() => page.getByRole('region', { name: 'Recent history' }).locator('tbody tr').count()).toBe(3);
      expect((await properties.getByRole('row', { name: /rpm/ }).textContent())?.replace(/\s+/g, '')).toBe('rpm1500');
      await screenshot('entity');
    });

    it('charts events/s, entities and connections from metrics_update', async () => {
      await open(flux, '#/metrics');
      const ns = unique('dash-metrics');
      for (let index = 0; index < 20; index += 1) await publishOk(flux, `${ns}/e${index % 4}`, { index });
      const figure = (title: string) => page.getByRole('figure', { name: new RegExp(title) });
      await poll(() => page.locator('.chart-line').count()).toBe(3);
      await poll(async () => Number(await figure('WebSocket connections').locator('.chart-value').textContent())).toBeGreaterThanOrEqual(1);
      await poll(async () => Number((await figure('Entities').locator('.chart-value').textContent())?.replace(/\D/g, ''))).toBeGreaterThanOrEqual(4);
      await poll(async () => (await figure('Events per second').getByRole('img').getAttribute('aria-label')) ?? '').toMatch(
        /^Events per second: now .* at most [1-9]/,
      );
      await screenshot('metrics');
    });

    it('shows the flux-core/directory entity with the namespaces and their counts', async () => {
      const ns = unique('dash-dir');
      for (const name of ['a', 'b', 'c']) await publishOk(flux, `${ns}/${name}`, { ok: true });
      await open(flux, '#/directory');
      const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: ns, exact: true }) });
      await poll(async () => (await row.getByRole('cell').allTextContents()).map((text) => text.trim())).toEqual(['3']);
      await row.getByRole('link', { name: ns }).click();
      await rowOf(`${ns}/c`).waitFor({ timeout: UI_TIMEOUT_MS });
      expect(new URL(page.url()).hash).toBe(`#/?namespace=${ns}`);
      await page.goBack();
      await screenshot('directory');
    });

    it('shows the connectors and their status', async () => {
      github.goodTokens.add('dashboard-github-token');
      expectStatus(await request(flux, 'POST', '/api/connectors/github/token', { json: { token: 'dashboard-github-token' } }), 200, 'store a token');
      await open(flux, '#/connectors');
      const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'github' }) });
      await poll(async () => (await row.getByRole('cell').allTextContents()).slice(0, 3)).toEqual(['Configured', 'yes', '3600 s']);
      await screenshot('connectors');
    });

    it('adds an HTTP source, sees it polled, pauses and deletes it; a refused one shows the server error', async () => {
      const name = unique('dash-source');
      await open(flux, '#/sources');
      await page.getByLabel('Name').fill(name);
      await page.getByLabel('URL').fill(`${items.url}/items`);
      await page.getByLabel('Poll interval (seconds)').fill('3600');
      await page.getByLabel('Entity key (JSONPath)').fill('$[');
      await page.getByLabel('Items path (JSONPath)').fill('$.data.items');
      await page.getByLabel('Properties').fill('name, level');
      await page.getByRole('button', { name: 'Add source' }).click();
      await poll(async () => (await page.getByRole('alert').textContent()) ?? '').toMatch(/^Could not add the source: .*\[FLUX_VALIDATION\]$/);

      await page.getByLabel('Entity key (JSONPath)').fill('$.id');
      await page.getByRole('button', { name: 'Add source' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `Added ${name}` })
        .waitFor({ timeout: UI_TIMEOUT_MS });
      expect(await page.getByRole('alert').count()).toBe(0);
      const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });
      const cells = async (): Promise<string[]> => (await row.getByRole('cell').allTextContents()).map((text) => text.trim());
      // URL, status, last poll, last error, items seen, paused: polled at once, then re-read by the view.
      await poll(cells).toEqual([`${items.url}/items`, 'Active', expect.stringMatching(/\d/), '—', '2', 'no', expect.any(String)]);
      expect(items.requests).toBeGreaterThan(0);
      const [source] = ((await get(flux, '/api/connectors/sources')).body.sources as Json[]).filter((listed) => listed.name === name);
      expect(source).toMatchObject({ properties: { name: '$["name"]', level: '$["level"]' }, auth: 'none', items_path: '$.data.items' });
      await screenshot('sources');

      await row.getByRole('button', { name: `Pause ${name}` }).click();
      await poll(cells).toEqual([expect.any(String), 'Paused', expect.any(String), '—', '2', 'yes', expect.any(String)]);
      await row.getByRole('button', { name: `Resume ${name}` }).waitFor({ timeout: UI_TIMEOUT_MS });
      expect((await get(flux, `/api/connectors/sources/${String(source?.id)}`)).body.paused).toBe(true);

      page.once('dialog', (dialog) => void dialog.accept());
      await row.getByRole('button', { name: `Delete ${name}` }).click();
      await poll(() => row.count()).toBe(0);
      expect((await get(flux, `/api/connectors/sources/${String(source?.id)}`)).status).toBe(404);

      // A bearer token goes to the server, which keeps it and never shows it again.
      const secured = unique('dash-bearer');
      await page.getByLabel('Name').fill(secured);
      await page.getByLabel('URL').fill(`${items.url}/items`);
      await page.getByLabel('Items path (JSONPath)').fill('$.data.items');
      await page.getByLabel('Authentication').selectOption('bearer');
      await page.getByLabel('Bearer token').fill('dashboard-source-secret');
      await page.getByRole('button', { name: 'Add source' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `Added ${secured}` })
        .waitFor({ timeout: UI_TIMEOUT_MS });
      const listed = (await get(flux, '/api/connectors/sources')).body.sources as Json[];
      const bearer = listed.find((candidate) => candidate.name === secured);
      expect(bearer).toMatchObject({ auth: 'bearer', has_token: true, poll_interval_seconds: 60 });
      expect(JSON.stringify(listed)).not.toContain('dashboard-source-secret');
      expectStatus(await request(flux, 'DELETE', `/api/connectors/sources/${String(bearer?.id)}`), 200, 'delete the bearer source');
    });

    it('edits the runtime config, refused without the right admin token', async () => {
      await open(flux, '#/config');
      const limit = page.getByLabel('Events per namespace per minute');
      await poll(() => limit.inputValue()).toBe('10000');
      await limit.fill('4321');
      await page.getByLabel('Admin token').fill('not-the-admin-token');
      await page.getByRole('button', { name: 'Save configuration' }).click();
      await poll(async () => (await page.getByRole('alert').textContent()) ?? '').toMatch(/^Not saved: .*token is missing or wrong/);
      expect((await get(flux, '/api/admin/config')).body.rate_limit_per_namespace_per_minute).toBe(10_000);

      await page.getByLabel('Admin token').fill(ADMIN);
      await page.getByRole('button', { name: 'Save configuration' }).click();
      await poll(async () => (await page.getByRole('status').filter({ hasText: 'Saved' }).count()) === 1).toBe(true);
      expect((await get(flux, '/api/admin/config')).body.rate_limit_per_namespace_per_minute).toBe(4321);
      expect(await page.getByRole('alert').count()).toBe(0);
      // The token stays in memory only unless the user asks to keep it in the tab.
      expect(await inPage('sessionStorage.length')).toBe(0);
      expect(await inPage('localStorage.length')).toBe(0);
      await screenshot('config');
      expectStatus(await request(flux, 'PUT', '/api/admin/config', { json: { rate_limit_per_namespace_per_minute: 10_000 }, token: ADMIN }), 200);
    });

    it('in public mode, a namespace owner publishes a test event with the namespace token', async () => {
      const ns = await registerNamespace(pub, unique('dashpub'), ADMIN);
      await open(pub, '#/publish');
      expect(await page.getByText('public mode', { exact: true }).count()).toBe(1);
      await page.getByLabel('Entity id').fill(`${ns.name}/probe`);
      await page.getByLabel('Properties (JSON object)').fill('{"reachable": true, "latency_ms": 12}');
      await page.getByLabel('Namespace token').fill('not-a-namespace-token');
      await page.getByRole('button', { name: 'Publish event' }).click();
      await poll(async () => (await page.getByRole('alert').textContent()) ?? '').toMatch(/^Not published: .*token is missing or wrong/);

      await page.getByLabel('Namespace token').fill(ns.token);
      await page.getByRole('button', { name: 'Publish event' }).click();
      await page.getByRole('status').filter({ hasText: 'Published event' }).waitFor({ timeout: UI_TIMEOUT_MS });
      const entity = await waitForEntity(pub, `${ns.name}/probe`);
      expect(entity.properties).toEqual({ reachable: true, latency_ms: 12 });
      await screenshot('publish');

      // The same token, kept in memory, shows the namespace's connectors.
      await page.getByRole('link', { name: 'Connectors' }).click();
      const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'github' }) });
      await poll(async () => (await row.getByRole('cell').allTextContents())[0]).toBe('Not configured');
    });

    it('allows no inline script', async () => {
      await open(flux);
      const ran = await inPage(`(() => {
        const script = document.createElement('script');
        script.textContent = 'window.inlineScriptRan = true';
        document.body.append(script);
        return window.inlineScriptRan === true;
      })()`);
      expect(ran).toBe(false);
      await poll(() => Promise.resolve(problems.length)).toBeGreaterThan(0);
      expect(problems.every((problem) => /content security policy/i.test(problem))).toBe(true);
      problems = [];
    });

    it('fits a phone screen and works with the keyboard', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await open(flux);
      expect(await inPage('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      await page.keyboard.press('Tab');
      expect(await inPage('document.activeElement.textContent')).toBe('Skip to content');
      let focused = '';
      for (let presses = 0; presses < 10 && focused !== 'Metrics'; presses += 1) {
        await page.keyboard.press('Tab');
        focused = String(await inPage('document.activeElement.textContent'));
      }
      expect(focused).toBe('Metrics');
      await page.keyboard.press('Enter');
      await poll(() => inPage('document.activeElement.id')).toBe('view-title');
      expect(await inPage('location.hash')).toBe('#/metrics');
      expect(await page.getByRole('link', { name: 'Metrics' }).getAttribute('aria-current')).toBe('page');
      await page.goBack();
      await page.getByRole('heading', { level: 1, name: 'Entities' }).waitFor({ timeout: UI_TIMEOUT_MS });
      await screenshot('entities-phone');
    });
  });
});
