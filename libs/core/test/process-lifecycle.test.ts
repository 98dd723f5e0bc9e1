import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/shutdown-fixture.ts', import.meta.url));

/** Starts the fixture, sends `signals` once it is ready (one after another), resolves with its exit and output. */
async function stopFixture(args: string[], signals: NodeJS.Signals[]): Promise<{ code: number | null; output: string }> {
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
    const { code, output } = await stopFixture(['never', '60000'], ['SIGTERM', 'SIGINT']);
    expect(code).toBe(1);
    expect(output).toContain('second signal during shutdown');
  });
});
