import { spawnSync } from "node:child_process";
import path from "node:path";
import { expect, it } from "vitest";

/** The whole project typechecks (TypeScript 7, strict, no unused locals): part of `npm test`. */
it("typechecks with tsc --noEmit", () => {
  const root = path.resolve(import.meta.dirname, "..");
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json", "--noEmit"], { cwd: root, encoding: "utf8", timeout: 120_000 });
  expect(r.stdout + r.stderr).toBe("");
  expect(r.status).toBe(0);
}, 130_000);
