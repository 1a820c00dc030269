#!/usr/bin/env node
/**
 * `npm run package:offline`: proves the desktop packaging on a machine with no Electron binary.
 *
 * 1. Builds out/ (scripts/build-app.mjs; the manager UI too when it is missing).
 * 2. Makes a stub Electron dist: a directory with an `electron` executable (a shell script that
 *    carries Electron's fuse sentinel and an 8-fuse wire, so electron-builder's fuse flipping runs
 *    for real), `version` and the licence files. electron-builder's `electronDist` option points
 *    at it, so nothing is downloaded.
 * 3. Runs electron-builder for the unpacked Linux app (`--linux dir`) with electron-builder.yml.
 * 4. Asserts the result: the asar holds main, preload, server, renderer and the production
 *    dependencies, and no sources, tests, source maps or dev dependencies; impit's native binary is
 *    unpacked; the fuses in the packaged executable are flipped as configured.
 * Prints one line per check; exits 1 when any fails. The listing is written next to the app.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildApp } from "./build-app.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const OUTPUT = path.join(ROOT, "dist", "desktop-offline");
const SENTINEL = "dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX";
/** Electron's fuse order (FuseV1Options): RunAsNode, EnableCookieEncryption, EnableNodeOptionsEnvironmentVariable, EnableNodeCliInspectArguments, EnableEmbeddedAsarIntegrityValidation, OnlyLoadAppFromAsar, LoadBrowserProcessSpecificV8Snapshot, GrantFileProtocolExtraPrivileges */
const FUSES = ["RunAsNode", "EnableCookieEncryption", "EnableNodeOptionsEnvironmentVariable", "EnableNodeCliInspectArguments", "EnableEmbeddedAsarIntegrityValidation", "OnlyLoadAppFromAsar", "LoadBrowserProcessSpecificV8Snapshot", "GrantFileProtocolExtraPrivileges"];
/** What a stock Electron 45 ships with. */
const STOCK_WIRE = "10110001";

export function makeStubElectronDist(dir, version) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, "resources"), { recursive: true });
  const script = Buffer.concat([
    Buffer.from(`#!/bin/sh\n# Stub Electron ${version} for packaging checks: it is not Electron and cannot run the app.\necho "stub electron: no Electron binary in this build" >&2\nexit 70\n# `),
    Buffer.from(SENTINEL, "latin1"),
    Buffer.from([1, FUSES.length]),
    Buffer.from(STOCK_WIRE, "latin1"),
    Buffer.from("\n"),
  ]);
  writeFileSync(path.join(dir, "electron"), script);
  chmodSync(path.join(dir, "electron"), 0o755);
  writeFileSync(path.join(dir, "version"), version);
  writeFileSync(path.join(dir, "LICENSE"), "stub");
  writeFileSync(path.join(dir, "LICENSES.chromium.html"), "<p>stub</p>");
  return dir;
}

/** The fuse wire of a packaged executable, by name: "on" | "off" | "removed". */
export function readFuses(executable) {
  const bin = readFileSync(executable);
  const at = bin.indexOf(SENTINEL);
  if (at < 0) throw new Error(`no fuse sentinel in ${executable}`);
  const len = bin[at + SENTINEL.length + 1];
  const out = {};
  for (let i = 0; i < len; i++) {
    const b = bin[at + SENTINEL.length + 2 + i];
    out[FUSES[i] ?? `fuse${i}`] = b === 0x31 ? "on" : b === 0x30 ? "off" : b === 0x72 ? "removed" : `0x${b.toString(16)}`;
  }
  return out;
}

/** Packages the lockfile marks dev-only (a dev dependency also needed by a production one, like tsx's esbuild, is not). */
export function devOnlyPackages(lock) {
  return Object.entries(lock.packages ?? {})
    .filter(([k, v]) => k.startsWith("node_modules/") && v.dev === true)
    .map(([k]) => k.slice("node_modules/".length));
}

/** Checks on the asar listing (paths with a leading "/"); returns the failures. */
export function checkAsarListing(files, devDependencies) {
  const fail = [];
  const has = (p) => files.includes(p);
  for (const p of ["/package.json", "/out/main/index.mjs", "/out/preload/index.cjs", "/out/preload/gateway.cjs", "/out/server/index.mjs", "/out/renderer/index.html", "/resources/icon.png", "/node_modules/koa/package.json", "/node_modules/impit/package.json"]) {
    if (!has(p)) fail.push(`missing ${p}`);
  }
  if (!files.some((f) => f.startsWith("/out/renderer/assets/") && f.endsWith(".js"))) fail.push("missing the manager's script under /out/renderer/assets/");
  const maps = files.filter((f) => f.endsWith(".map"));
  if (maps.length) fail.push(`source maps shipped: ${maps.slice(0, 5).join(", ")}${maps.length > 5 ? ` (+${maps.length - 5})` : ""}`);
  const sources = files.filter((f) => /^\/(src|test|tests|bench|scripts|docs|\.ci)\//.test(f) || (/\.(ts|tsx)$/.test(f) && !f.endsWith(".d.ts")));
  if (sources.length) fail.push(`sources or tests shipped: ${sources.slice(0, 5).join(", ")}${sources.length > 5 ? ` (+${sources.length - 5})` : ""}`);
  const testDirs = files.filter((f) => /\/(__tests__|test|tests)\//.test(f) && f.startsWith("/node_modules/"));
  if (testDirs.length) fail.push(`dependency tests shipped: ${testDirs.slice(0, 3).join(", ")}`);
  const dev = devDependencies.filter((d) => has(`/node_modules/${d}/package.json`));
  if (dev.length) fail.push(`dev dependencies shipped: ${dev.join(", ")}`);
  const top = [...new Set(files.map((f) => f.split("/")[1]))].sort();
  const unexpected = top.filter((t) => !["node_modules", "out", "package.json", "resources"].includes(t));
  if (unexpected.length) fail.push(`unexpected top-level entries: ${unexpected.join(", ")}`);
  const outDirs = [...new Set(files.filter((f) => f.startsWith("/out/")).map((f) => f.split("/")[2]))].sort();
  if (outDirs.join(",") !== "main,preload,renderer,server") fail.push(`out/ should hold main, preload, renderer, server; it holds ${outDirs.join(", ")}`);
  return fail;
}

async function main() {
  const started = Date.now();
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
  const electronVersion = JSON.parse(readFileSync(require.resolve("electron/package.json"), "utf8")).version;
  await buildApp({ renderer: true, quiet: true });

  const stub = makeStubElectronDist(path.join(os.tmpdir(), `grok2api-stub-electron-${process.pid}`), electronVersion);
  rmSync(OUTPUT, { recursive: true, force: true });
  const cli = require.resolve("electron-builder/cli.js");
  const r = spawnSync(process.execPath, [cli, "--linux", "dir", "--x64", "--publish", "never", `-c.electronDist=${stub}`, `-c.electronVersion=${electronVersion}`, `-c.directories.output=${OUTPUT}`], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ELECTRON_BUILDER_OFFLINE: "true", CSC_IDENTITY_AUTO_DISCOVERY: "false", ELECTRON_SKIP_BINARY_DOWNLOAD: "1" },
  });
  rmSync(stub, { recursive: true, force: true });
  if (r.status !== 0) {
    console.error(r.stdout.slice(-4000));
    console.error(r.stderr.slice(-4000));
    throw new Error(`electron-builder failed (exit ${r.status})`);
  }

  const appDir = path.join(OUTPUT, "linux-unpacked");
  const asarPath = path.join(appDir, "resources", "app.asar");
  const checks = [];
  const check = (name, problems) => checks.push({ name, problems: Array.isArray(problems) ? problems : problems ? [problems] : [] });

  check("packaged executable", existsSync(path.join(appDir, "grok2api")) ? [] : [`no ${path.join(appDir, "grok2api")}`]);
  check("app.asar", existsSync(asarPath) ? [] : ["no resources/app.asar"]);
  const asar = require("@electron/asar");
  const files = asar.listPackage(asarPath, { isPack: false }).map((f) => f.split(path.sep).join("/"));
  const fileSet = files.filter((f) => {
    try {
      return !asar.statFile(asarPath, f.slice(1), false).files;
    } catch {
      return true;
    }
  });
  writeFileSync(path.join(OUTPUT, "asar-listing.txt"), fileSet.join("\n") + "\n");
  const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
  check("asar listing", checkAsarListing(fileSet, devOnlyPackages(lock)));
  const packagedPkg = JSON.parse(asar.extractFile(asarPath, "package.json").toString("utf8"));
  check("package.json main", packagedPkg.main === "out/main/index.mjs" ? [] : [`main is ${packagedPkg.main}`]);
  const unpacked = path.join(appDir, "resources", "app.asar.unpacked", "node_modules");
  const nativeDirs = existsSync(unpacked) ? readdirSync(unpacked).filter((d) => d.startsWith("impit")) : [];
  const nodeFiles = nativeDirs.flatMap((d) => readdirSync(path.join(unpacked, d)).filter((f) => f.endsWith(".node")));
  check("impit native binary unpacked", nodeFiles.length ? [] : [`no impit *.node under ${unpacked}`]);
  // the worker thread's script: impit-worker-host.ts reads it from the asar and runs its text; impit itself from app.asar.unpacked
  check("impit worker script in the asar", fileSet.includes("/out/server/impit-worker.cjs") ? [] : ["no /out/server/impit-worker.cjs"]);
  const fuses = readFuses(path.join(appDir, "grok2api"));
  const want = { RunAsNode: "off", EnableCookieEncryption: "on", EnableNodeOptionsEnvironmentVariable: "off", EnableNodeCliInspectArguments: "off", OnlyLoadAppFromAsar: "on", GrantFileProtocolExtraPrivileges: "off" };
  check("fuses", Object.entries(want).filter(([k, v]) => fuses[k] !== v).map(([k, v]) => `${k} is ${fuses[k]}, want ${v}`));

  let failed = 0;
  for (const c of checks) {
    if (c.problems.length) failed++;
    console.log(`${c.problems.length ? "FAIL" : "ok  "} ${c.name}${c.problems.length ? `:\n       ${c.problems.join("\n       ")}` : ""}`);
  }
  const outCount = fileSet.filter((f) => f.startsWith("/out/")).length;
  console.log(`package:offline: ${checks.length - failed}/${checks.length} checks passed; asar: ${fileSet.length} files (${outCount} under out/), listing in ${path.relative(ROOT, path.join(OUTPUT, "asar-listing.txt"))}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (failed) process.exit(1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`package:offline failed: ${err.message ?? err}`);
    process.exit(1);
  });
}
