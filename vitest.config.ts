import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // test/clients/node_modules holds the real clients (Claude Code, Codex CLI): never collect from it.
    exclude: [...configDefaults.exclude, "test/clients/node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll waits for something to become true (a browser page, a background sync): 1 s by
    // default, too little on a loaded 2-core machine (a wrong-password login alone runs scrypt)
    expect: { poll: { timeout: 5_000 } },
    pool: "forks",
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
