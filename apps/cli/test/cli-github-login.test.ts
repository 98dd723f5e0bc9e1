/** `flux connectors github login`: prints the GitHub authorize URL of a real embedded Flux. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeployment, STARTUP_TIMEOUT_MS, TEST_ENCRYPTION_KEY, type Deployment } from '../../../apps/flux/test/support/deployment.js';
import { FAKE_OAUTH_CLIENT, startFakeGitHub, type FakeGitHub } from '../../../apps/flux/test/support/fake-github.js';
import { jsonOf, runFlux } from './support/run-flux.js';

let github: FakeGitHub;
let deployment: Deployment;

beforeAll(async () => {
  github = await startFakeGitHub();
  deployment = await startDeployment({
    env: {
      FLUX_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      FLUX_GITHUB_API_URL: github.url,
      FLUX_GITHUB_OAUTH_CLIENT_ID: FAKE_OAUTH_CLIENT.id,
      FLUX_GITHUB_OAUTH_CLIENT_SECRET: FAKE_OAUTH_CLIENT.secret,
      FLUX_GITHUB_OAUTH_REDIRECT_URL: 'http://flux.invalid/api/connectors/github/oauth/callback',
      FLUX_GITHUB_OAUTH_AUTHORIZE_URL: `${github.url}/login/oauth/authorize`,
      FLUX_GITHUB_OAUTH_TOKEN_URL: `${github.url}/login/oauth/access_token`,
    },
  });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await deployment?.dispose();
  await github?.close();
});

describe('flux connectors github login', () => {
  it('prints the authorize URL, and --json gives {authorize_url}', async () => {
    const env = { FLUX_URL: deployment.baseUrl };
    const text = await runFlux(['--output', 'text', 'connectors', 'github', 'login'], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`${github.url}/login/oauth/authorize?`);
    const json = await runFlux(['--json', 'connectors', 'github', 'login'], { env });
    expect(json.code, json.stderr).toBe(0);
    const url = new URL((jsonOf(json) as { authorize_url: string }).authorize_url);
    expect(url.searchParams.get('client_id')).toBe(FAKE_OAUTH_CLIENT.id);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
  });
});
