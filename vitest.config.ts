import { defineConfig } from 'vitest/config';

const report = process.env.FLUX_TEST_REPORT ?? '.ci/out/vitest.json';

export default defineConfig({
  test: {
    include: ['apps/*/test/**/*.test.ts', 'libs/*/test/**/*.test.ts', 'deploy/*/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    // Kafka and Redis in containers when the environment names none and Docker answers (see README, Tests).
    globalSetup: ['deploy/local/vitest-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites start real servers and open real databases; two workers match the 2-core machines.
    maxWorkers: 2,
    // In CI, beside the console: the JSON report .ci/run counts, and the errors of suites that
    // failed outside their tests, which that report drops (.ci/run prints them with its count).
    reporters:
      process.env.CI === 'true'
        ? [
            'default',
            ['json', { outputFile: report }],
            ['./deploy/local/vitest-suite-errors-reporter.ts', { outputFile: report.replace(/\.json$/, '') + '.suite-errors.json' }],
          ]
        : ['default'],
  },
});
