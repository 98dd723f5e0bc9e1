import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SerializedError } from 'vitest';
import type { Reporter, TestModule, Vitest } from 'vitest/node';

export interface SuiteErrorsReporterOptions {
  /** Where the JSON list is written (its directory is created). */
  readonly outputFile: string;
}

/** One suite that failed outside its tests, as .ci/run prints it with its final count. */
export interface SuiteError {
  /** The test file, relative to the root vitest ran in. */
  readonly file: string;
  /** `describe` names from the file down; empty for the file itself. */
  readonly suite: string;
  /** The first lines of each error: message, then the head of its stack. */
  readonly errors: readonly string[];
}

const MESSAGE_LINES = 4;
const FRAMES_SHOWN = 4;
const CAUSES_SHOWN = 3;

/** The error's own name, without the prefix vitest gives a serialised cause. */
const nameOf = (value: unknown): string => String(value ?? 'Error').replace(/^Caused by: /, '');

/**
 * Name and message, the frames of the project's own code, then the chain of causes (a failed
 * fetch says why only in its cause).
 */
function summarise(error: SerializedError): string {
  const lines = `${nameOf(error.name)}: ${error.message}`.split('\n').slice(0, MESSAGE_LINES);
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line) && !/node_modules|node:internal/.test(line));
  lines.push(...frames.slice(0, FRAMES_SHOWN));
  let cause: unknown = (error as { cause?: unknown }).cause;
  for (let shown = 0; shown < CAUSES_SHOWN && typeof cause === 'object' && cause !== null; shown += 1) {
    const { name, message } = cause as { name?: unknown; message?: unknown };
    lines.push(`caused by ${nameOf(name)}: ${String(message ?? '')}`);
    cause = (cause as { cause?: unknown }).cause;
  }
  return lines.join('\n');
}

/**
 * Records the errors of suites that failed outside their tests: a `beforeAll` that throws or
 * times out, a file that does not load. Vitest's JSON report keeps only their tests, marked
 * skipped, and drops the error, so without this a CI log's summary could name the file but not
 * say what went wrong.
 */
export default class SuiteErrorsReporter implements Reporter {
  private readonly outputFile: string;
  private root = '';

  constructor(options: SuiteErrorsReporterOptions) {
    this.outputFile = options.outputFile;
  }

  onInit(vitest: Vitest): void {
    this.root = vitest.config.root;
  }

  onTestRunEnd(testModules: readonly TestModule[]): void {
    const found: SuiteError[] = [];
    for (const module of testModules) {
      const file = module.moduleId.startsWith(`${this.root}/`) ? module.moduleId.slice(this.root.length + 1) : module.moduleId;
      const own = module.errors();
      if (own.length > 0) found.push({ file, suite: '', errors: own.map(summarise) });
      for (const suite of module.children.allSuites()) {
        const errors = suite.errors();
        if (errors.length > 0) found.push({ file, suite: suite.fullName, errors: errors.map(summarise) });
      }
    }
    mkdirSync(dirname(this.outputFile), { recursive: true });
    writeFileSync(this.outputFile, `${JSON.stringify(found, null, 2)}\n`);
  }
}
