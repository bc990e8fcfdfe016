import type { Reporter, SerializedError, TestModule } from 'vitest/node';

/**
 * Ends the run's output with one plain line, `N passed, N failed, N skipped`, for CI
 * systems that read the last line of a test run. Use after the `default` reporter.
 *
 * A test file that fails before its tests run (syntax error, failing import, throwing
 * `beforeAll`) and every unhandled error count as one failure each, so a broken file can
 * never turn into "0 failed".
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
  ): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      let moduleFailedTests = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') moduleFailedTests += 1;
        else if (state === 'skipped') skipped += 1;
      }
      failed += moduleFailedTests;
      // Errors outside tests: collection errors and failing suite-level hooks.
      if (moduleFailedTests === 0 && (module.state() === 'failed' || module.errors().length > 0)) {
        failed += 1;
      }
    }
    failed += unhandledErrors.length;
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
