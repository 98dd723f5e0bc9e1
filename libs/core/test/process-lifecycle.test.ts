import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/shutdown-fixture.ts', import.meta.url));

/**
 * Starts the fixture, sends `signals` once it is ready, each once the previous one was handled
 * and `gapMs` later, and resolves with its exit code and output.
 */
async function stopFixture(args: string[], signals: NodeJS.Signals[], gapMs = 0): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) =>
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('ready')) resolve();
    }),
  );
  for (const signal of signals) {
    child.kill(signal);
    // The next signal only once the first one was handled.
    await new Promise<void>((resolve) => {
      const check = (): void => (output.includes('shutting down') ? resolve() : void setTimeout(check, 20));
      check();
    });
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return { code: await exited, output };
}

describe('handleShutdown', () => {
  it('exits 0 once the drain finished, logging the graceful stop', async () => {
    const { code, output } = await stopFixture(['200', '20000'], ['SIGTERM']);
    expect(code).toBe(0);
    expect(output).toContain('"msg":"stopped gracefully"');
  });

  it('exits 1 with a log line when the drain outlasts the deadline', async () => {
    const { code, output } = await stopFixture(['never', '300'], ['SIGTERM']);
    expect(code).toBe(1);
    expect(output).toContain('shutdown deadline passed');
  });

  it('exits 1 at once on a second signal', async () => {
    // Past the window in which a repeat counts as the same signal relayed by npm.
    const { code, output } = await stopFixture(['never', '60000'], ['SIGTERM', 'SIGINT'], 1_100);
    expect(code).toBe(1);
    expect(output).toContain('second signal during shutdown');
  });

  it('takes a signal repeated at once (a terminal and npm both sending it) as one stop', async () => {
    const { code, output } = await stopFixture(['500', '20000'], ['SIGINT', 'SIGINT']);
    expect(code).toBe(0);
    expect(output).toContain('"msg":"stopped gracefully"');
  });
});

describe('start-up failures', () => {
  const STARTUP_FIXTURE = fileURLToPath(new URL('./fixtures/startup-fixture.ts', import.meta.url));

  async function failedStart(failure: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', STARTUP_FIXTURE, failure], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('close', (exitCode) => resolve(exitCode)));
    return { code, stdout, stderr };
  }

  it.each([
    ['invalid settings', 'config', { problems: ['PORT must be a port number, got "abc"', 'REDIS_URL is required'] }],
    ['a rejected top-level await', 'open', { err: expect.objectContaining({ message: 'connect ECONNREFUSED 127.0.0.1:6379' }) }],
  ])('%s: exit 1 and one fatal log line, no raw stack', async (_label, failure, fields) => {
    const { code, stdout, stderr } = await failedStart(failure);
    expect(code).toBe(1);
    expect(stderr).toBe('');
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 60,
      service: 'fixture',
      msg: expect.stringContaining('fixture failed to start'),
      ...fields,
    });
  });
});
