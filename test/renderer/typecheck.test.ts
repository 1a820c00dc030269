import { spawnSync } from "node:child_process";
import path from "node:path";
import { expect, it } from "vitest";

/** The manager typechecks with its own tsconfig (DOM libs, no Node types), and so do its tests. */
it.each(["src/renderer/tsconfig.json", "test/renderer/tsconfig.json"])("typechecks %s with tsc --noEmit", (config) => {
  const root = path.resolve(import.meta.dirname, "../..");
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", config, "--noEmit"], { cwd: root, encoding: "utf8", timeout: 120_000 });
  expect(r.stdout + r.stderr).toBe("");
  expect(r.status).toBe(0);
}, 130_000);
