// ESLint: the few type-aware rules that catch real bugs in this code base, and the dependency
// rules between projects (@nx/enforce-module-boundaries over the `type:*` tags of project.json).
import { builtinModules } from 'node:module';
import nx from '@nx/eslint-plugin';
import { createProjectGraphAsync } from '@nx/devkit';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The boundaries rule reads Nx's cached project graph and silently skips every check when there
// is none (a fresh clone); computing it here makes a plain `eslint` run enforce the rules too.
await createProjectGraphAsync({ exitOnError: true });

/**
 * What each kind of project may import (the tags are in each project.json):
 * domain nothing of ours, core only domain, adapters only core and domain (never another
 * adapter), apps wire anything, tooling (bench, deploy/local) uses anything. The client
 * (@flux/client) is published on its own: it imports nothing of ours, and apps and tooling use it;
 * the MCP server (an interface) uses only the client.
 */
const depConstraints = [
  {
    sourceTag: 'type:domain',
    onlyDependOnLibsWithTags: ['type:domain'],
    // Pure: validation, ids and uuids only; vitest and fast-check for its tests.
    allowedExternalImports: ['zod', 'uuid', 'vitest', 'fast-check'],
  },
  { sourceTag: 'type:core', onlyDependOnLibsWithTags: ['type:domain'] },
  { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:core', 'type:domain'] },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['*'] },
  { sourceTag: 'type:tooling', onlyDependOnLibsWithTags: ['*'] },
  { sourceTag: 'type:client', onlyDependOnLibsWithTags: [] },
  // The dashboard's browser code reaches Flux only through the typed client.
  { sourceTag: 'type:ui', onlyDependOnLibsWithTags: ['type:client'] },
  // Interfaces for agents and people built on the client (@flux/mcp): they reach Flux only through it.
  { sourceTag: 'type:interface', onlyDependOnLibsWithTags: ['type:client'] },
];

/** The boundaries rule; `allow` lists import specifiers exempted (known debts, see below). */
const boundaries = (allow = []) => ({
  '@nx/enforce-module-boundaries': [
    'error',
    {
      depConstraints,
      allow,
      // Tests import their own package through its public entry point (`@flux/core/testing`).
      allowCircularSelfDependency: true,
      enforceBuildableLibDependency: false,
    },
  ],
});

// Linting everything (`npm run lint`), one program over the root tsconfig.json takes half the
// time of a program per project; an Nx lint task (one project) needs only its own tsconfig.json.
// The dashboard's browser code (DOM, JSX) has a tsconfig of its own.
const typeInformation =
  process.env.NX_TASK_TARGET_PROJECT === undefined
    ? { project: ['./tsconfig.json', './libs/dashboard/web/tsconfig.json'] }
    : { projectService: true };

const NO_IO = 'libs/domain does no I/O: keep Node modules in core or an adapter.';
/** Forbids Node's own modules (`fs`, `node:net`, ...), saying why with `message`. */
const noNodeModules = (message) => ({
  'no-restricted-imports': [
    'error',
    {
      paths: builtinModules.map((name) => ({ name, message })),
      patterns: [{ group: ['node:*'], message }],
    },
  ],
});
const BROWSER_TOO = '@flux/client runs in browsers too: use web APIs (fetch, WebSocket, AbortSignal, TextEncoder).';

export default defineConfig(
  globalIgnores([
    '**/node_modules/**',
    '.nx/**',
    '**/dist/**',
    'coverage/**',
    'bench/results/**',
    'bench/tmp/**',
    // ts-proto output, regenerated from proto/ and checked by `npm run proto:check`.
    'libs/grpc/src/generated/**',
    '**/*.js',
    '**/*.mjs',
    '**/*.cjs',
  ]),
  {
    files: ['**/*.ts', '**/*.tsx'],
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { ...typeInformation, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin, '@nx': nx },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      'no-control-regex': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrors: 'all',
          caughtErrorsIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      ...boundaries(),
    },
  },
  // Known debts, allowed file by file so that the rule stays on everywhere else. Each one is
  // to be removed when its import is; none may be added.
  {
    // The gRPC tests read through the LMDB state store, and the connector tests run on the
    // embedded stores and poll lease, of @flux/embedded (an adapter importing another adapter).
    files: ['libs/grpc/test/**/*.ts', 'libs/connectors/test/**/*.ts'],
    rules: boundaries(['^@flux/embedded$']),
  },
  {
    // deploy/local is no package, so its local-services and deployment-process modules are
    // imported by relative path (the rule wants project imports by package name).
    files: ['apps/flux/test/support/deployment.ts', 'bench/**/*.ts'],
    rules: boundaries(['^(\\.\\./)+deploy/local/(local-services|deployment-process)\\.js$']),
  },
  {
    // The domain is pure: no file system, network, processes or clocks of Node's own.
    files: ['libs/domain/src/**/*.ts'],
    rules: noNodeModules(NO_IO),
  },
  {
    // Not a debt: the CLI and dashboard suites start real servers with apps/flux's test
    // support, the one way the project starts Flux for tests.
    files: ['apps/cli/test/**/*.ts', 'libs/dashboard/test/**/*.ts'],
    rules: boundaries(['^(\\.\\./)+apps/flux/test/support/[a-z-]+\\.js$']),
  },
  {
    // `flux serve` runs the embedded server's own entry point in its process, so that it and
    // `npm start` cannot drift apart (Nx forbids importing an app by default).
    files: ['apps/cli/src/commands/serve-command.ts'],
    rules: boundaries(['^@flux/server/main$']),
  },
  {
    // The client runs in browsers as in Node: no Node module in its sources.
    files: ['libs/client/src/**/*.ts'],
    rules: noNodeModules(BROWSER_TOO),
  },
);
