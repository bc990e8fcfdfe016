/**
 * Which tier (vitest project) runs each test file: the one place that decides it.
 *
 * - `unit`: logic only, time from a ManualClock; no socket, no child process (a guard,
 *   scripts/unit-tier-guard.ts, fails a unit test that opens one). The whole tier runs in
 *   well under 30 s, so it is the loop to run while editing: `npm run test:unit`.
 * - `slow`: minutes of real work: the clean clone, the stability suite, chaos, bench and
 *   its storms, the live fuzz, the long delivery audits, minute-long tests, installs of
 *   packed tarballs. Runs last, one file at a time.
 * - `e2e`: everything else: real sockets on loopback, SQLite files, Chromium, Redis,
 *   Python, child processes.
 *
 * A new test file lands in `e2e` unless its name says otherwise: `*.unit.test.ts` goes to
 * `unit`, `*.slow.test.ts` (or a file under a `slow/` folder) to `slow`. The lists below
 * name existing files by location-independent patterns (`**\/name.test.ts`), so a file
 * keeps its tier when it moves to another package. packages/testkit/test/tiers.test.ts
 * fails when a test file is in no tier or in two, and when a pattern names no file.
 */

/** Every test file vitest may run; a `*.test.ts` anywhere else is in no tier (and fails the check). */
export const TEST_FILES = ['packages/*/test/**/*.test.ts'];

export const TEST_EXCLUDE = ['**/node_modules/**', '**/dist/**'];

/** Patterns of a naming convention: they may match no file today. */
export const UNIT_CONVENTION = ['**/*.unit.test.ts'];
export const SLOW_CONVENTION = [
  '**/*.slow.test.ts',
  '**/slow/**/*.test.ts',
  // A test that installs packed tarballs into an empty app (npm install, minutes).
  '**/*tarball*.test.ts',
];

/** Existing files in the unit tier (each pattern must match a file). */
export const UNIT_FILES = [
  '**/protocol/test/*.test.ts',
  '**/common/test/*.test.ts',
  // cli / hub: flag and config parsing, topic rules.
  '**/args.test.ts',
  '**/config.test.ts',
  // client: driven through a fake WebSocket and a ManualClock.
  '**/client/test/api.test.ts',
  '**/client/test/delivery.test.ts',
  '**/client/test/lifecycle.test.ts',
  '**/client/test/liveness.test.ts',
  '**/client/test/messaging.test.ts',
  '**/client/test/token-refresh.test.ts',
  '**/client/test/topics.test.ts',
  // server: rules, options and docs that need no socket.
  '**/heartbeat-rules.test.ts',
  '**/docs-server-sync.test.ts',
  '**/options.test.ts',
  '**/trusted-proxies.test.ts',
  '**/stability-verdict.test.ts',
  '**/tiers.test.ts',
];

/** Existing files in the slow tier (each pattern must match a file). */
export const SLOW_FILES = [
  '**/clean-clone.test.ts',
  '**/stability.test.ts',
  '**/chaos.test.ts',
  '**/bench.test.ts',
  '**/hub-fuzz.test.ts',
  '**/server/test/audit/*.test.ts',
  '**/store-durability.test.ts',
  '**/hub-token-lifetime.test.ts',
  // 200 whole-history replays of 60 MB each (minutes).
  '**/replay-budget-hub.test.ts',
  '**/hub-metric-labels.test.ts',
  '**/hub-session-cap.test.ts',
  '**/prometheus.test.ts',
  // Three audit runs of the Python client, one in a fresh virtualenv (about a minute).
  '**/python-client.test.ts',
];

export const UNIT = [...UNIT_FILES, ...UNIT_CONVENTION];
export const SLOW = [...SLOW_FILES, ...SLOW_CONVENTION];
