#!/usr/bin/env node
// `flux`: runs the CLI's TypeScript sources through tsx, so `npx flux` works without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
const code = await main(process.argv.slice(2));
// Exit at once rather than when idle: fetch keeps connections open for seconds after the last
// request. Output written to pipes, files and terminals is already flushed on Linux and macOS.
if (code !== undefined) process.exit(code);
