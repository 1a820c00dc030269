import { mkdirSync, writeFileSync } from "node:fs";
import type { Reporter, TestModule } from "vitest/node";

/**
 * Prints the plain closing line CI reads ("N passed, N failed, N skipped") and writes it to
 * .test-results/summary.txt so .ci/run can repeat it as its very last line.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      let sawTest = false;
      for (const test of mod.children.allTests()) {
        sawTest = true;
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
      // A file that failed to load (syntax error, failing beforeAll) has no test results: count it.
      if (!sawTest && mod.state() === "failed") failed++;
    }
    failed += unhandledErrors.length;
    const line = `${passed} passed, ${failed} failed, ${skipped} skipped`;
    mkdirSync(".test-results", { recursive: true });
    writeFileSync(".test-results/summary.txt", line + "\n");
    process.stdout.write(`\n${line}\n`);
  }
}
