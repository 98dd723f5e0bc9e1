/** Singer taps: a fixture tap run as a real process (records, schema checks, state, config file, failures). */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConnectorError, DEFAULT_TAP_LIMITS, silentConnectorLogger, SingerTapConnector, type Cursors, type PollResult } from '@flux/connectors';
import { ManualClock } from './support/manual-clock.js';

const TAP = fileURLToPath(new URL('./fixtures/tap-fixture', import.meta.url));

/** A tap connector with its config (the test's stand-in for the decrypted secret). */
const tap = (config: Record<string, unknown>, overrides: Partial<ConstructorParameters<typeof SingerTapConnector>[0]> = {}) => ({
  config: JSON.stringify(config),
  connector: new SingerTapConnector({
    id: 't1',
    executable: TAP,
    entityKeyField: 'id',
    entityPrefix: 'crm',
    streamFilter: null,
    pollIntervalSeconds: 60,
    limits: DEFAULT_TAP_LIMITS,
    ...overrides,
  }),
});

const run = ({ config, connector }: ReturnType<typeof tap>, cursors: Cursors = {}, signal = new AbortController().signal): Promise<PollResult> =>
  connector.poll({ token: config, owner: '', cursors, signal, clock: new ManualClock(), logger: silentConnectorLogger });

describe('SingerTapConnector', () => {
  it('turns RECORD messages into entities, drops records that break the SCHEMA, and keeps the STATE', async () => {
    const result = await run(tap({ secret: 's3cret' }));
    expect(result.observations.map((o) => o.entityId)).toEqual(['crm/people/1', 'crm/people/2', 'crm/meta/config']);
    expect(result.observations[0]?.properties).toEqual({ id: 1, name: 'person 1' });
    expect(JSON.parse(result.cursors.state!)).toEqual({ bookmark: 2 });
  });

  it('hands the bookmark back with --state on the next run', async () => {
    const first = await run(tap({}));
    const second = await run(tap({}), first.cursors);
    expect(second.observations.filter((o) => o.entityId.startsWith('crm/people/')).map((o) => o.entityId)).toEqual(['crm/people/3', 'crm/people/4']);
    expect(JSON.parse(second.cursors.state!)).toEqual({ bookmark: 4 });
  });

  it('writes the config to a 0600 file that is gone after the run', async () => {
    const result = await run(tap({ secret: 's3cret' }));
    const meta = result.observations.find((o) => o.entityId === 'crm/meta/config')!.properties as { mode: string; path: string; secret: string };
    expect(meta).toMatchObject({ mode: '600', secret: 's3cret' });
    expect(existsSync(meta.path)).toBe(false);
  });

  it('publishes only the streams of the filter', async () => {
    const result = await run(tap({}, { streamFilter: ['meta'] }));
    expect(result.observations.map((o) => o.entityId)).toEqual(['crm/meta/config']);
  });

  it('a failing tap reports its stderr; garbage output is a permanent error; a hung tap is killed at the time limit', async () => {
    await expect(run(tap({ mode: 'fail' }))).rejects.toThrow(/exited with 2: boom: the API refused the credential/);
    await expect(run(tap({ mode: 'garbage' }))).rejects.toMatchObject({ permanent: true, message: /not JSON/ });
    const hung = run(tap({ mode: 'hang' }, { limits: { ...DEFAULT_TAP_LIMITS, timeoutMs: 500 } }));
    await expect(hung).rejects.toThrow(/longer than 500 ms/);
    await expect(run(tap({}, { executable: '/nonexistent/tap-none' }))).rejects.toBeInstanceOf(ConnectorError);
  });

  it('an aborted run kills the tap', async () => {
    const abort = new AbortController();
    const running = run(tap({ mode: 'hang' }), {}, abort.signal);
    abort.abort();
    await expect(running).rejects.toThrow(/aborted/);
  });
});

/**
 * tap-jsonl (PyPI, Meltano SDK) reads local JSONL files: a real tap that needs no network.
 * .ci/run installs it; elsewhere the test runs when it is in PATH.
 */
const realTap = (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, 'tap-jsonl')));

describe.skipIf(!realTap && process.env.CI !== 'true')('a real Singer tap (tap-jsonl from PyPI, in PATH)', () => {
  it('publishes the records of a JSONL file, keeps its STATE and runs again with it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flux-tap-jsonl-'));
    try {
      const file = join(dir, 'people.jsonl');
      await writeFile(file, '{"id": 1, "name": "Ada"}\n{"id": 2, "name": "Grace"}\n');
      const connector = tap({ path: file, stream_name: 'people', primary_keys: ['id'] }, { executable: 'tap-jsonl' });
      const first = await run(connector);
      expect(first.observations.map((o) => o.entityId)).toEqual(['crm/people/1', 'crm/people/2']);
      expect(first.observations[0]?.properties).toMatchObject({ id: 1, name: 'Ada' });
      expect(first.cursors.state).toBeDefined();
      // The run with the bookmark (--state) succeeds too; tap-jsonl re-reads whole files.
      const second = await run(connector, first.cursors);
      expect(second.observations.map((o) => o.entityId)).toEqual(['crm/people/1', 'crm/people/2']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
