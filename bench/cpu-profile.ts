/**
 * `npm run bench:cpu-profile -- <file.cpuprofile> [more…]`: where each profiled thread's CPU
 * went, by part of Flux, as a Markdown table per file (a bundled server's frames are mapped back
 * to its sources through the source map beside the bundle). Profiles come from `--cpu-prof`, e.g.
 * `npm run bench -- --only batch --no-docs --node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"`.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { withSourceLocations } from './src/cpu-profile-sources.js';
import { summariseCpuProfile, type CpuProfile } from './src/cpu-profile-summary.js';
import { markdownTable } from './src/format.js';

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: npm run bench:cpu-profile -- <file.cpuprofile> [more…]\n');
  process.exit(2);
}
const percent = (share: number | undefined): string => (share === undefined ? '' : `${(share * 100).toFixed(1)}%`);
for (const file of files) {
  // A bundled server's frames are put back in their source files first.
  const shares = summariseCpuProfile(withSourceLocations(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile));
  const rows = shares.map((share) => [share.part, `${Math.round(share.ms)} ms`, percent(share.ofAll), percent(share.ofBusy)]);
  process.stdout.write(`${basename(file)}\n\n${markdownTable(['part', 'CPU', 'of all samples', 'of busy time'], rows)}\n\n`);
}
