import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { DeploymentKind } from './deployment.js';
import { SCENARIOS, type ScenarioName } from './results.js';

export interface BenchOptions {
  readonly quick: boolean;
  readonly deployment: DeploymentKind;
  /** The Flux checkout whose server is measured. */
  readonly fluxRoot: string;
  /** Scenarios to run; undefined runs them all. */
  readonly only: readonly ScenarioName[] | undefined;
  /** Results file; undefined: bench/results/<name>. */
  readonly out: string | undefined;
  readonly writeDocs: boolean;
  /** Extra Node.js flags for every server process (e.g. `--cpu-prof`); such a run never counts as complete. */
  readonly nodeArgs: readonly string[];
}

export const USAGE = `usage: npm run bench -- [--quick] [--cluster] [--flux-root <dir>] [--only <${SCENARIOS.join(',')}>] [--out <file>] [--no-docs] [--node-args="<flags>"]`;

export function parseBenchArgs(argv: readonly string[], repoRoot: string): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      cluster: { type: 'boolean', default: false },
      'flux-root': { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
      'no-docs': { type: 'boolean', default: false },
      'node-args': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) throw new UsageError(USAGE);
  let only: ScenarioName[] | undefined;
  if (values.only !== undefined) {
    const names = values.only
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '');
    const unknown = names.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
    if (unknown.length > 0 || names.length === 0)
      throw new UsageError(`--only takes scenario names from ${SCENARIOS.join(', ')}; got ${values.only}\n${USAGE}`);
    only = names as ScenarioName[];
  }
  return {
    quick: values.quick,
    deployment: values.cluster ? 'cluster' : 'embedded',
    fluxRoot: resolve(values['flux-root'] ?? repoRoot),
    only,
    out: values.out === undefined ? undefined : resolve(values.out),
    writeDocs: !values['no-docs'],
    nodeArgs: (values['node-args'] ?? '').split(/\s+/).filter((arg) => arg !== ''),
  };
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}
