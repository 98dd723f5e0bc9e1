#!/usr/bin/env node
// Fails (exit 1, with a diff) when the committed generated code in libs/grpc/src/generated
// differs from what proto/ generates now, or when proto/ fails `buf lint`.
// Usage (from anywhere): npm run proto:check   (fix drift with: npm run proto:generate)
// `--committed <dir>` compares another copy of the generated code (the drift test uses it).
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const buf = join(root, 'node_modules', '.bin', 'buf');
const generated = 'libs/grpc/src/generated';
const flag = process.argv.indexOf('--committed');
const committed = flag >= 0 && process.argv[flag + 1] !== undefined ? resolve(process.argv[flag + 1]) : generated;

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

const scratch = await mkdtemp(join(tmpdir(), 'flux-proto-check-'));
let status;
try {
  if (run(buf, ['lint', 'proto']) !== 0) {
    console.error('proto:check: buf lint failed');
    status = 1;
  } else if (run(buf, ['generate', 'proto', '--template', 'proto/buf.gen.yaml', '--output', scratch]) !== 0) {
    console.error('proto:check: buf generate failed');
    status = 1;
  } else {
    // diff exits 0 when equal, 1 when different, 2 on trouble (a missing directory).
    const diff = run('diff', ['-ruN', committed, join(scratch, generated)]);
    if (diff !== 0) console.error(`proto:check: ${committed} does not match proto/; run \`npm run proto:generate\` and commit the result`);
    else console.log(`proto:check: ${committed} matches proto/`);
    status = diff === 0 ? 0 : 1;
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}
process.exit(status);
