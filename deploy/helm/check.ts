/**
 * `npm run helm:check`: proves the chart renders what Flux needs, without a cluster.
 *
 * For every value set in deploy/helm/flux/ci/: `helm lint --strict`, `helm template`, every
 * rendered object validated against the Kubernetes OpenAPI schemas, the rules every rendering
 * obeys (lib/chart-assertions.ts) and what that value set turns on (lib/value-set-expectations.ts).
 * Then values the chart must refuse. Exits 1 on any failure; the last line counts the checks.
 * `--build-only` only makes sure the helm binary is built.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { checkChart } from './lib/chart-assertions.js';
import { ensureHelm } from './lib/helm-binary.js';
import { parseManifests, type K8sObject } from './lib/manifests.js';
import { validateAgainstSchemas } from './lib/schema-validation.js';
import { REFUSED_VALUES, VALUE_SET_EXPECTATIONS } from './lib/value-set-expectations.js';

const CHART = resolve(fileURLToPath(new URL('.', import.meta.url)), 'flux');
const VALUE_SETS = join(CHART, 'ci');
const RELEASE = 'flux';
const NAMESPACE = 'flux-ci';
const run = promisify(execFile);

let passed = 0;
let failed = 0;
const record = (label: string, problems: readonly string[]): void => {
  if (problems.length === 0) {
    passed++;
    return;
  }
  failed++;
  console.log(`  FAIL ${label}`);
  for (const problem of problems) console.log(`       ${problem}`);
};

async function helm(binary: string, args: readonly string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(binary, args, { maxBuffer: 64 * 1024 * 1024 });
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${failure.stdout ?? ''}${failure.stderr ?? failure.message}` };
  }
}

async function checkValueSet(binary: string, file: string): Promise<void> {
  const valuesPath = join(VALUE_SETS, file);
  const lint = await helm(binary, ['lint', '--strict', CHART, '-f', valuesPath]);
  record(`${file}: helm lint --strict`, lint.ok ? [] : [lint.output.trim()]);
  const rendered = await helm(binary, ['template', RELEASE, CHART, '--namespace', NAMESPACE, '-f', valuesPath]);
  if (!rendered.ok) {
    record(`${file}: helm template`, [rendered.output.trim()]);
    return;
  }
  let objects: K8sObject[];
  try {
    objects = parseManifests(rendered.output);
  } catch (error) {
    record(`${file}: rendered YAML`, [error instanceof Error ? error.message : String(error)]);
    return;
  }
  const kinds = new Map<string, number>();
  for (const object of objects) kinds.set(object.kind, (kinds.get(object.kind) ?? 0) + 1);
  console.log(`${file}: ${objects.length} objects (${[...kinds].map(([kind, count]) => `${count} ${kind}`).join(', ')})`);
  record(`${file}: Kubernetes schemas`, await validateAgainstSchemas(objects));
  const expectations = VALUE_SET_EXPECTATIONS[file];
  if (expectations === undefined) record(`${file}: expectations`, [`no expectations for ${file} in lib/value-set-expectations.ts`]);
  for (const result of checkChart(objects, [...(expectations ?? [])])) record(`${file}: ${result.rule}`, result.problems);
  for (const result of checkChart(objects)) record(`${file}: ${result.rule}`, result.problems);
}

async function checkRefusals(binary: string): Promise<void> {
  for (const { set, message } of REFUSED_VALUES) {
    const args = [
      'template',
      RELEASE,
      CHART,
      '--namespace',
      NAMESPACE,
      '-f',
      join(VALUE_SETS, 'defaults-values.yaml'),
      ...set.flatMap((assignment) => ['--set', assignment]),
    ];
    const rendered = await helm(binary, args);
    const label = `refuses --set ${set.join(' --set ')}`;
    const refused = !rendered.ok && rendered.output.includes(message);
    console.log(`${label}: ${refused ? 'refused' : 'NOT refused as expected'}`);
    record(label, refused ? [] : [rendered.ok ? 'rendered anyway' : `failed without "${message}": ${rendered.output.trim()}`]);
  }
}

const binary = await ensureHelm(process.env, (line) => console.log(line));
// `--build-only`: get the helm binary ready (CI builds it while other steps run) and stop.
if (process.argv.includes('--build-only')) process.exit(0);
const { stdout: version } = await run(binary, ['version', '--short']);
console.log(`helm ${version.trim()} (${binary})`);
const files = (await readdir(VALUE_SETS)).filter((file) => file.endsWith('-values.yaml')).sort();
for (const file of files) await checkValueSet(binary, file);
await checkRefusals(binary);
console.log(`chart: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
