#!/usr/bin/env node
/**
 * `npm run lint:commits`: every commit subject after BASE is under 72 characters (a subject
 * line that reads in one line of `git log --oneline`, detail in the body). History up to BASE
 * is kept as it was published. Exits 1 naming each offending commit.
 */
import { execFileSync } from 'node:child_process';

const BASE = 'b4a1243';
const MAX = 71;

const git = (...args) => execFileSync('git', args, { encoding: 'utf8' });
try {
  git('rev-parse', '--verify', '--quiet', `${BASE}^{commit}`);
} catch {
  console.error(`lint:commits: ${BASE} is not in this clone (a shallow clone?): fetch the history to check subjects`);
  process.exit(1);
}
const long = git('log', '--format=%h %s', `${BASE}..HEAD`)
  .split('\n')
  .filter((line) => line !== '')
  .map((line) => ({ hash: line.slice(0, line.indexOf(' ')), subject: line.slice(line.indexOf(' ') + 1) }))
  .filter(({ subject }) => [...subject].length > MAX);
for (const { hash, subject } of long) console.log(`${hash}: ${[...subject].length} characters: ${subject}`);
console.log(`lint:commits: ${long.length === 0 ? 'every subject' : `${long.length} subject(s) not`} under ${MAX + 1} characters since ${BASE}`);
process.exit(long.length === 0 ? 0 : 1);
