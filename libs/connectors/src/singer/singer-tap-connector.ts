import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { sourceStateName } from '@flux/core';
import type { Properties } from '@flux/domain';
import { ConnectorError, type Connector, type Observation, type PollContext, type PollResult } from '../connector.js';

export interface SingerTapLimits {
  /** Wall-clock time of one run; the tap is killed past it. */
  readonly timeoutMs: number;
  /** RECORD messages taken per run; the rest of the run is read but not published. */
  readonly maxRecords: number;
  /** Longest stdout line accepted (one message). */
  readonly maxLineBytes: number;
  /** stderr kept for last_error. */
  readonly stderrBytes: number;
}

export const DEFAULT_TAP_LIMITS: SingerTapLimits = { timeoutMs: 300_000, maxRecords: 10_000, maxLineBytes: 1024 * 1024, stderrBytes: 2048 };

export interface SingerTapConfig {
  readonly id: string;
  /** Absolute path of the tap executable (from the admin's allowed list). */
  readonly executable: string;
  /** Record field holding each record's key. */
  readonly entityKeyField: string;
  /** Entity ids are `<prefix>/<stream>/<key>` ('' for `<stream>/<key>`). */
  readonly entityPrefix: string;
  /** Streams published (null: all). */
  readonly streamFilter: readonly string[] | null;
  readonly pollIntervalSeconds: number;
  readonly limits: SingerTapLimits;
}

type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

/** The top-level property types a SCHEMA message declares, per stream. */
type StreamSchema = ReadonlyMap<string, readonly JsonType[]>;

const STATE_CURSOR = 'state';

/**
 * Runs a Singer tap (https://hub.meltano.com/singer/spec): `<tap> --config <file> [--state <file>]`,
 * RECORD messages become observations keyed by a record field, SCHEMA messages declare the
 * property types records are checked against, and the last STATE message is the bookmark
 * handed back with `--state` on the next run. The config and state files live in a private
 * temporary directory removed after the run; the tap's environment is only PATH, HOME and LANG.
 */
export class SingerTapConnector implements Connector {
  readonly name: string;
  readonly stream = 'connectors.taps';
  readonly pollIntervalSeconds: number;

  constructor(private readonly config: SingerTapConfig) {
    // A tap runs as a source: its state and lease are the source's.
    this.name = sourceStateName(config.id);
    this.pollIntervalSeconds = config.pollIntervalSeconds;
  }

  /** The tap's config JSON arrives as the poll's token (sealed at rest like one), written to a 0600 file for the run only. */
  async poll(context: PollContext): Promise<PollResult> {
    const dir = await mkdtemp(join(tmpdir(), 'flux-tap-'));
    try {
      const configPath = join(dir, 'config.json');
      await writeFile(configPath, context.token, { mode: 0o600 });
      const args = ['--config', configPath];
      const previousState = context.cursors[STATE_CURSOR];
      if (previousState !== undefined) {
        const statePath = join(dir, 'state.json');
        await writeFile(statePath, previousState, { mode: 0o600 });
        args.push('--state', statePath);
      }
      const run = await this.run(args, context.signal);
      const cursors = run.state === undefined ? context.cursors : { ...context.cursors, [STATE_CURSOR]: JSON.stringify(run.state) };
      return { observations: run.observations, cursors, seen: run.observations.length };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private run(args: readonly string[], signal: AbortSignal): Promise<{ observations: Observation[]; state: unknown }> {
    const { limits } = this.config;
    const child = spawn(this.config.executable, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LANG: 'C.UTF-8' },
    });
    const observations: Observation[] = [];
    const schemas = new Map<string, StreamSchema>();
    let state: unknown;
    let stderr = '';
    let problem: string | undefined;
    let timedOut = false;

    const kill = (): void => {
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, limits.timeoutMs);
    signal.addEventListener('abort', kill, { once: true });
    if (signal.aborted) kill();

    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-limits.stderrBytes);
    });
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    lines.on('line', (line) => {
      if (problem !== undefined || line.trim() === '') return;
      if (Buffer.byteLength(line) > limits.maxLineBytes) {
        problem = `a message is longer than ${limits.maxLineBytes} bytes`;
        kill();
        return;
      }
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        problem = `the tap wrote a line that is not JSON: ${line.slice(0, 120)}`;
        kill();
        return;
      }
      const handled = this.handle(message, schemas, observations);
      if (handled.state !== undefined) state = handled.state.value;
    });

    return new Promise((resolve, reject) => {
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new ConnectorError(`the tap could not be started: ${error.message}`, { permanent: true, cause: error }));
      });
      child.once('close', (code, exitSignal) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', kill);
        const tail = stderr.trim() === '' ? '' : `: ${stderr.trim()}`;
        if (signal.aborted) reject(new ConnectorError('the tap run was aborted'));
        else if (timedOut) reject(new ConnectorError(`the tap ran longer than ${limits.timeoutMs} ms${tail}`));
        else if (problem !== undefined) reject(new ConnectorError(problem, { permanent: true }));
        // Shown at once: the tap's own words (stderr) are what its owner needs to see.
        else if (code !== 0) reject(new ConnectorError(`the tap exited with ${code ?? exitSignal}${tail}`, { permanent: true }));
        else resolve({ observations, state });
      });
    });
  }

  private handle(message: unknown, schemas: Map<string, StreamSchema>, observations: Observation[]): { state?: { value: unknown } } {
    if (typeof message !== 'object' || message === null) return {};
    const { type, stream } = message as { type?: unknown; stream?: unknown };
    if (type === 'STATE') return { state: { value: (message as { value?: unknown }).value ?? null } };
    if (typeof stream !== 'string' || stream === '') return {};
    if (this.config.streamFilter !== null && !this.config.streamFilter.includes(stream)) return {};
    if (type === 'SCHEMA') {
      schemas.set(stream, schemaOf((message as { schema?: unknown }).schema));
      return {};
    }
    if (type !== 'RECORD' || observations.length >= this.config.limits.maxRecords) return {};
    const record = (message as { record?: unknown }).record;
    if (typeof record !== 'object' || record === null || Array.isArray(record)) return {};
    const fields = record as Record<string, unknown>;
    const key = fields[this.config.entityKeyField];
    if (!((typeof key === 'string' && key !== '') || (typeof key === 'number' && Number.isFinite(key)))) return {};
    const schema = schemas.get(stream);
    if (schema !== undefined && !conforms(fields, schema)) return {};
    const id = `${stream}/${String(key)}`;
    observations.push({ entityId: this.config.entityPrefix === '' ? id : `${this.config.entityPrefix}/${id}`, properties: fields as Properties });
    return {};
  }
}

/** The top-level `properties` types of a JSON Schema (other keywords are not checked). */
function schemaOf(schema: unknown): StreamSchema {
  const types = new Map<string, readonly JsonType[]>();
  const properties = (schema as { properties?: unknown } | null)?.properties;
  if (typeof properties !== 'object' || properties === null) return types;
  for (const [name, property] of Object.entries(properties)) {
    const type = (property as { type?: unknown } | null)?.type;
    if (typeof type === 'string') types.set(name, [type as JsonType]);
    else if (Array.isArray(type))
      types.set(
        name,
        type.filter((entry): entry is JsonType => typeof entry === 'string'),
      );
  }
  return types;
}

function typeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as JsonType;
}

/** Whether every declared property present in the record has one of its declared types. */
function conforms(record: Record<string, unknown>, schema: StreamSchema): boolean {
  for (const [name, types] of schema) {
    if (!Object.hasOwn(record, name) || types.length === 0) continue;
    const actual = typeOf(record[name]);
    if (!types.includes(actual) && !(actual === 'integer' && types.includes('number'))) return false;
  }
  return true;
}
