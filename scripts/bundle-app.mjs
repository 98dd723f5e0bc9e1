// Compiles one server process into JavaScript: <outDir>/main.js (and its worker threads'
// modules beside it), for `npm run build` (dist/, which the container image runs) and for
// `npm start` (scripts/start.mjs).
//
// esbuild bundles the @flux/* workspace sources (TypeScript) and leaves every npm package
// external: they load from node_modules as usual, native modules (lmdb, msgpackr) included.
// A module that finds files beside itself through import.meta.url (the Redis Lua scripts, the
// dashboard's dist/) keeps its own source location: its import.meta.url is rewritten to the
// URL the source file had, reached relative to the bundle. So a bundle must stay where it was
// written, in the repository beside libs/ and apps/ (with those asset files), as in the image.
// An app's entries are the exception: their import.meta.url is the bundle's own, since the
// embedded server finds its materialiser thread's module beside the file it runs from.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
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

/**
 * Bundles `app` into `outDir`. Each file is written under a temporary name and renamed into
 * place, so a process starting from `outDir` while another bundles into it (two `npm start`s)
 * reads whole files.
 */
export async function bundleApp(app, outDir) {
  const entries = ['main', ...(WORKER_ENTRIES[app] ?? [])].map((name) => path.join(ROOT, 'apps', app, 'src', `${name}.ts`));
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: entries,
    outdir: outDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
    write: false,
    plugins: [externalPackages, sourceLocatedImportMeta(outDir, entries)],
  });
  await mkdir(outDir, { recursive: true });
  for (const file of result.outputFiles) {
    const temporary = `${file.path}.${process.pid}.tmp`;
    await writeFile(temporary, file.contents);
    await rename(temporary, file.path);
  }
}
