/**
 * `npm run fuzz:api`: runs the OpenAPI-driven fuzzer schemathesis against a fresh deployment
 * (embedded or cluster, internal or public mode) and fails on any finding: a 5xx, a status,
 * content type, header or body the document does not describe. The examples per operation are
 * bounded and the seed is fixed, so a run is reproducible and a finding can be replayed.
 *
 *   npm run fuzz:api -- [--cluster] [--public] [--max-examples 50] [--seed 9] [--report-dir <dir>]
 *   npm run fuzz:api -- --install-only    # only install schemathesis
 *
 * schemathesis is pinned (SCHEMATHESIS_VERSION) and installed on first use into a virtualenv
 * under ~/.cache/flux (python3 >= 3.9 with venv).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { localServices } from '../deploy/local/local-services.js';
import { startDeployment, type Deployment } from './src/deployment.js';
import { onInterrupt } from './src/process-group.js';

export const SCHEMATHESIS_VERSION = '4.32.5';
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'unsupported_method',
];
const ADMIN_TOKEN = 'fuzz-admin-token-0123456789abcdef';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    cluster: { type: 'boolean', default: false },
    public: { type: 'boolean', default: false },
    'max-examples': { type: 'string', default: '50' },
    seed: { type: 'string', default: '9' },
    'report-dir': { type: 'string' },
    'install-only': { type: 'boolean', default: false },
  },
  strict: true,
});
const kind = values.cluster ? 'cluster' : 'embedded';
const mode = values.public ? 'public' : 'internal';
const log = (message: string): void => {
  process.stderr.write(`[fuzz ${kind} ${mode}] ${message}\n`);
};

function schemathesisBinary(): string {
  const venv = process.env.FLUX_SCHEMATHESIS_VENV ?? join(homedir(), '.cache/flux', `schemathesis-${SCHEMATHESIS_VERSION}`);
  const binary = join(venv, 'bin', 'schemathesis');
  if (existsSync(binary)) return binary;
  log(`installing schemathesis ${SCHEMATHESIS_VERSION} into ${venv}`);
  mkdirSync(dirname(venv), { recursive: true });
  execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', `schemathesis==${SCHEMATHESIS_VERSION}`], { stdio: 'inherit' });
  return binary;
}

async function namespaceToken(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/namespaces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ name: 'fuzz' }),
  });
  const body = (await response.json()) as { token?: string };
  if (response.status !== 200 || body.token === undefined)
    throw new Error(`namespace registration answered ${response.status}: ${JSON.stringify(body)}`);
  return body.token;
}

function runSchemathesis(binary: string, baseUrl: string, headers: readonly string[]): Promise<number> {
  const reportDir = values['report-dir'] ?? join(repoRoot, '.ci/out', `schemathesis-${kind}-${mode}`);
  const args = [
    'run',
    `${baseUrl}/api/openapi.json`,
    '--url',
    baseUrl,
    '--checks',
    CHECKS.join(','),
    '--max-examples',
    values['max-examples'],
    '--seed',
    values.seed,
    '--workers',
    '1',
    '--request-timeout',
    '20',
    '--suppress-health-check',
    'too_slow,filter_too_much,data_too_large,large_base_example',
    '--report',
    'junit',
    '--report-dir',
    reportDir,
    ...headers.flatMap((header) => ['--header', header]),
  ];
  log(`schemathesis ${args.join(' ')}`);
  return new Promise((resolveRun) => {
    // schemathesis keeps its cache (.schemathesis/) in its working directory: the report's.
    mkdirSync(reportDir, { recursive: true });
    const child = spawn(binary, args, { stdio: 'inherit', cwd: reportDir });
    child.once('exit', (code) => resolveRun(code ?? 1));
  });
}

const binary = schemathesisBinary();
// `--install-only`: get schemathesis ready (CI installs it while other steps run) and stop.
if (values['install-only']) process.exit(0);
const runId = `fuzz-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
let deployment: Deployment | undefined;
onInterrupt(async () => {
  await deployment?.stop();
});
let status = 1;
try {
  log('starting the deployment');
  deployment = await startDeployment({
    kind,
    fluxRoot: repoRoot,
    runId,
    ...(kind === 'cluster' ? { services: localServices() } : {}),
    env: {
      FLUX_LOG_LEVEL: 'error',
      // Configured as a real deployment is, so the connector token routes store credentials
      // (their 500 without a key is the contract's, covered by connectors.test.ts). The GitHub
      // connector a stored token enables polls a closed local port, never the real GitHub.
      FLUX_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      FLUX_GITHUB_API_URL: 'http://127.0.0.1:9',
      FLUX_GITHUB_POLL_INTERVAL_SECONDS: '3600',
      ...(mode === 'public' ? { FLUX_AUTH_ENABLED: 'true', FLUX_ADMIN_TOKEN: ADMIN_TOKEN, FLUX_RATE_LIMIT_ENABLED: 'false' } : {}),
    },
  });
  const headers = mode === 'public' ? [`Authorization: Bearer ${await namespaceToken(deployment.baseUrl)}`] : [];
  status = await runSchemathesis(binary, deployment.baseUrl, headers);
} catch (error) {
  log(error instanceof Error ? error.message : String(error));
} finally {
  await deployment?.stop();
}
log(status === 0 ? 'no findings' : `schemathesis exited ${status}`);
process.exit(status);
