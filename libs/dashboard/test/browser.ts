/**
 * Headless Chromium for the dashboard suite: Debian's `chromium` package driven by
 * playwright-core (no browser download). Without it the suite is skipped on a developer's
 * machine, with the reason in its name, and fails under CI=true.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { describe, it } from 'vitest';
import { REPO_ROOT } from '../../../apps/flux/test/support/deployment.js';

export const CHROMIUM_PATH = process.env.FLUX_CHROMIUM_PATH ?? '/usr/bin/chromium';
const HOW_TO = 'apt-get install chromium';

export function describeWithChromium(name: string, body: () => void): void {
  if (existsSync(CHROMIUM_PATH)) {
    describe(name, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it(`requires Chromium at ${CHROMIUM_PATH}`, () => {
        throw new Error(`no Chromium at ${CHROMIUM_PATH}; CI must install Debian's chromium package (${HOW_TO})`);
      });
    });
    return;
  }
  describe.skip(`${name} (skipped: no Chromium at ${CHROMIUM_PATH}; ${HOW_TO})`, body);
}

export const launchChromium = (): Promise<Browser> => chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });

/** Where the runs' screenshots go (CI keeps .ci/out). */
export const SCREENSHOT_DIR = join(REPO_ROOT, '.ci/out/screenshots');

const DASHBOARD = join(REPO_ROOT, 'libs/dashboard');

async function newestChange(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}

/**
 * Builds the dashboard when its build is missing or older than its sources, so the suite
 * tests the code as it is (`npm ci` builds it once; an edit since would go untested).
 */
export async function ensureDashboardBuilt(): Promise<void> {
  const index = join(DASHBOARD, 'dist/index.html');
  const sources = Math.max(await newestChange(join(DASHBOARD, 'web')), (await stat(join(DASHBOARD, 'vite.config.ts'))).mtimeMs);
  if (existsSync(index) && (await stat(index)).mtimeMs >= sources) return;
  await promisify(execFile)('npm', ['run', '--silent', 'build:dashboard'], { cwd: REPO_ROOT, timeout: 120_000 });
}
