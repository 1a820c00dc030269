import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error -- a plain .mjs script without types
import { checkAsarListing, devOnlyPackages, makeStubElectronDist, readFuses } from "../../scripts/package-offline.mjs";

const require = createRequire(import.meta.url);

const GOOD = [
  "/package.json",
  "/out/main/index.mjs",
  "/out/preload/index.cjs",
  "/out/preload/gateway.cjs",
  "/out/server/index.mjs",
  "/out/renderer/index.html",
  "/out/renderer/assets/index-abc.js",
  "/resources/icon.png",
  "/node_modules/koa/package.json",
  "/node_modules/impit/package.json",
  "/node_modules/zod/index.d.ts",
];

describe("package:offline checks", () => {
  it("a good listing passes", () => {
    expect(checkAsarListing(GOOD, ["vitest", "electron"])).toEqual([]);
  });

  it("missing parts, source maps, sources, tests and dev dependencies each fail", () => {
    const problems = (files: string[]) => checkAsarListing(files, ["vitest", "electron"]) as string[];
    expect(problems(GOOD.filter((f) => f !== "/out/preload/gateway.cjs"))).toEqual(["missing /out/preload/gateway.cjs"]);
    expect(problems(GOOD.filter((f) => !f.startsWith("/out/preload/"))).join("\n")).toMatch(/missing \/out\/preload\/index\.cjs[\s\S]*should hold main, preload, renderer, server; it holds main, renderer, server/);
    expect(problems([...GOOD, "/out/main/index.mjs.map"]).join()).toMatch(/source maps shipped/);
    expect(problems([...GOOD, "/src/main/boot.ts"]).join()).toMatch(/sources or tests shipped/);
    expect(problems([...GOOD, "/out/server/x.ts"]).join()).toMatch(/sources or tests shipped/);
    expect(problems([...GOOD, "/node_modules/koa/test/app.js"]).join()).toMatch(/dependency tests shipped/);
    expect(problems([...GOOD, "/node_modules/vitest/package.json"]).join()).toMatch(/dev dependencies shipped: vitest/);
    expect(problems([...GOOD, "/dist/server/server.js"]).join()).toMatch(/unexpected top-level entries: dist/);
    expect(problems(GOOD.filter((f) => !f.startsWith("/out/renderer/assets/"))).join()).toMatch(/manager's script/);
  });

  it("dev-only packages come from the lockfile (a dev dependency a production one needs is not dev-only)", () => {
    expect(devOnlyPackages({ packages: { "": {}, "node_modules/vitest": { dev: true }, "node_modules/esbuild": {}, "node_modules/a/node_modules/b": { dev: true } } })).toEqual(["vitest", "a/node_modules/b"]);
  });

  it("the stub Electron carries a fuse wire @electron/fuses can flip, and readFuses reads it back", async () => {
    const dir = makeStubElectronDist(path.join(mkdtempSync(path.join(os.tmpdir(), "g2a-stub-")), "dist"), "45.4.1");
    const exe = path.join(dir, "electron");
    expect(readFuses(exe)).toMatchObject({ RunAsNode: "on", EnableCookieEncryption: "off", OnlyLoadAppFromAsar: "off" });
    const { flipFuses, FuseVersion, FuseV1Options } = require("@electron/fuses");
    await flipFuses(exe, { version: FuseVersion.V1, [FuseV1Options.RunAsNode]: false, [FuseV1Options.EnableCookieEncryption]: true, [FuseV1Options.OnlyLoadAppFromAsar]: true });
    expect(readFuses(exe)).toMatchObject({ RunAsNode: "off", EnableCookieEncryption: "on", OnlyLoadAppFromAsar: "on", EnableNodeCliInspectArguments: "on" });
  });
});
