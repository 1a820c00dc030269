#!/usr/bin/env node
/**
 * Builds the desktop app's JavaScript into out/ (what electron-builder packs, see electron-builder.yml):
 *   out/main/index.mjs      the Electron main process (src/main; Electron itself stays external)
 *   out/server/index.mjs    the server (src/server through src/main/server-entry.ts), loaded by main
 *                           at run time; every production dependency stays in node_modules
 *   out/server/impit-worker.cjs  the impit worker thread's script (src/server/grok/impit-worker.ts),
 *                           found next to index.mjs and run from its text (no loader inside app.asar)
 *   out/preload/index.cjs   the manager window's preload (sandboxed preloads are CommonJS)
 *   out/preload/gateway.cjs the hidden gateway pages' preload
 * The manager UI (out/renderer) is built by `npm run build:renderer`; run with --renderer to build
 * it here too when it is missing. No source maps: the asar test refuses them.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export async function buildApp({ renderer = false, quiet = false } = {}) {
  const { build } = await import("esbuild");
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
  const deps = Object.keys(pkg.dependencies ?? {});
  for (const d of ["main", "server", "preload"]) rmSync(path.join(ROOT, "out", d), { recursive: true, force: true });
  const common = { absWorkingDir: ROOT, bundle: true, platform: "node", target: "node22", sourcemap: false, legalComments: "none", logLevel: quiet ? "error" : "warning", metafile: true };
  const results = await Promise.all([
    build({ ...common, entryPoints: ["src/main/index.ts"], outfile: "out/main/index.mjs", format: "esm", external: ["electron"] }),
    // production dependencies (impit's native binary, the database drivers…) are loaded from node_modules
    build({ ...common, entryPoints: ["src/main/server-entry.ts"], outfile: "out/server/index.mjs", format: "esm", external: ["electron", ...deps, ...deps.map((d) => `${d}/*`)] }),
    // its own script: the worker thread runs it (impit-worker-host.ts); CommonJS, as it is run as code (eval)
    build({ ...common, entryPoints: ["src/server/grok/impit-worker.ts"], outfile: "out/server/impit-worker.cjs", format: "cjs", external: ["electron", ...deps, ...deps.map((d) => `${d}/*`)] }),
    build({ ...common, entryPoints: { index: "src/preload/index.ts", gateway: "src/preload/gateway.ts" }, outdir: "out/preload", outExtension: { ".js": ".cjs" }, format: "cjs", external: ["electron"] }),
  ]);
  // main must not carry the server: it loads out/server/index.mjs (one copy of the store, the pool…)
  const mainInputs = Object.keys(results[0].metafile.inputs);
  const serverInMain = mainInputs.filter((f) => f.startsWith("src/server/") && !/^src\/server\/core\/token\.ts$/.test(f));
  if (serverInMain.length) throw new Error(`the main bundle pulled in server modules: ${serverInMain.join(", ")}`);
  const workerInputs = Object.keys(results[2].metafile.inputs);
  if (workerInputs.some((f) => f !== "src/server/grok/impit-worker.ts")) throw new Error(`the impit worker bundle pulled in other modules: ${workerInputs.join(", ")}`);
  for (const r of results[3].metafile ? [results[3]] : []) {
    const bad = Object.keys(r.metafile.inputs).filter((f) => f.startsWith("node_modules/"));
    if (bad.length) throw new Error(`the preloads must not bundle packages: ${bad.join(", ")}`);
  }
  if (renderer && !existsSync(path.join(ROOT, "out", "renderer", "index.html"))) {
    const r = spawnSync(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "-s", "build:renderer"], { cwd: ROOT, stdio: quiet ? "pipe" : "inherit" });
    if (r.status !== 0) throw new Error(`npm run build:renderer failed${quiet ? `: ${r.stderr}` : ""}`);
  }
  if (!quiet) console.log("desktop app built into out/ (main, server, preload)");
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("build-app.mjs")) {
  buildApp({ renderer: process.argv.includes("--renderer") }).catch((err) => {
    console.error(err.message ?? err);
    process.exit(1);
  });
}
