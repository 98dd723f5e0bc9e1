#!/usr/bin/env node
// `npm run build`: compiles each server process into one JavaScript file,
//   dist/<app>/main.js   for app in flux (embedded), reducer, ingest-gateway, query-gateway,
// which `node dist/<app>/main.js` runs with no TypeScript loader (the container image does).
//
// esbuild bundles the @flux/* workspace sources (TypeScript) and leaves every npm package
// external: they load from node_modules as usual, native modules (lmdb, msgpackr) included.
// A module that finds files beside itself through import.meta.url (the Redis Lua scripts, the
// dashboard's dist/) keeps its own source location: its import.meta.url is rewritten to the
// URL the source file had, reached relative to the bundle. So dist/ must stay beside libs/ and
// apps/ (with those asset files), as in the repository and in the image. An app's entries are
// the exception: their import.meta.url is the bundle's own, since the embedded server finds
// its materialiser thread's module beside the file it runs from.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const outRoot = path.join(root, 'dist');
export const APPS = ['flux', 'reducer', 'ingest-gateway', 'query-gateway'];
/** Modules an app starts worker threads on, bundled beside its main.js (the same names, .js). */
const WORKER_ENTRIES = { flux: ['materialiser'] };

/** npm packages and Node's built-ins stay external; relative imports and @flux/* are bundled. */
const externalPackages = {
  name: 'external-packages',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) => {
      return args.path.startsWith('@flux/') ? undefined : { path: args.path, external: true };
    });
  },
};

/** Keeps import.meta.url pointing at the original source file (see above). */
function sourceLocatedImportMeta(outDir, entries) {
  return {
    name: 'source-located-import-meta',
    setup(builder) {
      builder.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (entries.includes(args.path)) return undefined;
        const contents = await readFile(args.path, 'utf8');
        if (!contents.includes('import.meta.url')) return undefined;
        const fromBundle = path.relative(outDir, args.path).split(path.sep).join('/');
        const sourceUrl = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
        return { contents: contents.replaceAll('import.meta.url', sourceUrl), loader: 'ts' };
      });
    },
  };
}

async function buildApp(app) {
  const outDir = path.join(outRoot, app);
  const entries = ['main', ...(WORKER_ENTRIES[app] ?? [])].map((name) => path.join(root, 'apps', app, 'src', `${name}.ts`));
  await build({
    absWorkingDir: root,
    entryPoints: entries,
    outdir: outDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [externalPackages, sourceLocatedImportMeta(outDir, entries)],
  });
}

await rm(outRoot, { recursive: true, force: true });
for (const app of APPS) await buildApp(app);
console.log(`built ${APPS.map((app) => `dist/${app}/main.js`).join(', ')}`);
