#!/usr/bin/env node
// `npm run build`: compiles each server process into one JavaScript file,
//   dist/<app>/main.js   for app in flux (embedded), reducer, ingest-gateway, query-gateway,
// which `node dist/<app>/main.js` runs with no TypeScript loader (the container image does).
// `node scripts/build.mjs <app> <dir>` compiles one app into <dir> (`npm start` does).
// How, and why the output must stay beside libs/ and apps/: scripts/bundle-app.mjs.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { APPS, bundleApp, ROOT } from './bundle-app.mjs';

const [app, outDir] = process.argv.slice(2);
if (app !== undefined) {
  if (!APPS.includes(app) || outDir === undefined) {
    console.error(`usage: node scripts/build.mjs [<${APPS.join('|')}> <output directory>]`);
    process.exit(2);
  }
  await bundleApp(app, path.resolve(outDir));
} else {
  const outRoot = path.join(ROOT, 'dist');
  await rm(outRoot, { recursive: true, force: true });
  for (const each of APPS) await bundleApp(each, path.join(outRoot, each));
  console.log(`built ${APPS.map((each) => `dist/${each}/main.js`).join(', ')}`);
}
