#!/usr/bin/env node
// `npm start`: the embedded server, compiled as the image runs it (scripts/bundle-app.mjs) into
// node_modules/.cache/flux/start/, then started in this very process, so signals reach it with
// no process in between. Running the TypeScript sources through a loader instead (`node
// --import tsx apps/flux/src/main.ts`, as the tests do) costs the loader's threads beside the
// main and the materialiser thread: about 60 MB more resident memory, and a slower start.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const outDir = path.join(root, 'node_modules', '.cache', 'flux', 'start');
// In a process of its own: what compiling allocates never weighs on the server's memory.
const built = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), 'flux', outDir], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);
await import(pathToFileURL(path.join(outDir, 'main.js')).href);
