import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
const script = join(root, 'libs/grpc/scripts/proto-check.mjs');

const check = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { cwd: root, encoding: 'utf8' });

describe('generated gRPC code', () => {
  it('matches proto/ (npm run proto:check)', () => {
    const result = check();
    expect(result.stderr + result.stdout).toContain('matches proto/');
    expect(result.status).toBe(0);
  });

  it('fails with a diff when the committed code drifted from proto/', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'flux-proto-drift-'));
    try {
      await cp(join(root, 'libs/grpc/src/generated'), copy, { recursive: true });
      const file = join(copy, 'flux/v1/state.ts');
      await writeFile(file, (await readFile(file, 'utf8')).replace('"/flux.v1.StateService/GetEntity"', '"/flux.v1.StateService/Renamed"'));
      const result = check('--committed', copy);
      expect(result.status).toBe(1);
      expect(result.stdout).toContain('+    path: "/flux.v1.StateService/GetEntity" as const,');
      expect(result.stderr).toContain('npm run proto:generate');
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});
