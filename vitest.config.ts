import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import SummaryReporter from './scripts/summary-reporter.js';
import { SLOW, TEST_EXCLUDE, TEST_FILES, UNIT } from './vitest.tiers.js';

const PACKAGES = [
  'common',
  'protocol',
  'fault-proxy',
  'testkit',
  'server',
  'store-sqlite',
  'store-redis',
  'client',
  'react',
  'dashboard',
  'hub',
  'cli',
] as const;

const fromRoot = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

// Fails a test file that leaves a socket, timer, child process or `process` listener behind
// (packages/testkit/src/leak-check.ts). On in every tier.
const LEAK_CHECK = fromRoot('./packages/testkit/src/leak-check-setup.ts');

export default defineConfig({
  resolve: {
    // Tests run against the sources, never a stale dist/: `@tether/server` resolves to
    // packages/server/src/index.ts. Relative imports in the sources are NodeNext style
    // (`./frames.js`); Vite maps those to the `.ts` file when the importer is TypeScript.
    alias: [
      ...PACKAGES.map((name) => ({
        find: new RegExp(`^@tether/${name}$`),
        replacement: fromRoot(`./packages/${name}/src/index.ts`),
      })),
      // Subpath exports: `@tether/server/ops` (metrics, stats, ops endpoints) and
      // `@tether/server/store` (the parts a store implementation shares).
      {
        find: /^@tether\/server\/ops$/,
        replacement: fromRoot('./packages/server/src/ops/index.ts'),
      },
      {
        find: /^@tether\/server\/store$/,
        replacement: fromRoot('./packages/server/src/store-kit.ts'),
      },
    ],
  },
  test: {
    // Three tiers (vitest.tiers.ts decides which file runs in which); `npm test` runs all
    // of them, `npm run test:unit|test:e2e|test:slow` one. The groupOrder runs the fast
    // tiers first, so a broken rule fails in seconds, not after the minute-long suites.
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT,
          exclude: TEST_EXCLUDE,
          // Fails a unit test that opens a socket or starts a process.
          setupFiles: [fromRoot('./scripts/unit-tier-guard.ts'), LEAK_CHECK],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: TEST_FILES,
          exclude: [...TEST_EXCLUDE, ...UNIT, ...SLOW],
          setupFiles: [LEAK_CHECK],
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'slow',
          include: SLOW,
          exclude: TEST_EXCLUDE,
          setupFiles: [LEAK_CHECK],
          // Chaos, stability and the audits measure real time: on 2 cores they run alone.
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
    ],
    environment: 'node',
    // Child processes instead of worker threads: tests spawn redis-server and Chromium,
    // bind sockets and use native addons (better-sqlite3); a process per worker isolates
    // all of that, and a crash takes down one file, not the run.
    pool: 'forks',
    // The CI machine has 2 cores; more workers only make the timing-sensitive suites
    // (heartbeats, chaos) compete for CPU.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // A flaky test is a bug to find, not to retry (STYLE.md).
    retry: 0,
    // `.only` left in a commit must not silently shrink the CI run.
    allowOnly: !process.env.CI,
    restoreMocks: true,
    unstubEnvs: true,
    // The default reporter for people, then one plain last line for CI:
    // `N passed, N failed, N skipped`.
    reporters: ['default', new SummaryReporter()],
  },
});
