#!/usr/bin/env node
// Entry point for `npm start` and `npx grok2api`: runs the compiled server in dist/ (plain
// JavaScript, built by `npm run build:server`, which `npm ci` runs as `prepare`). When this is a
// source checkout whose src/ changed after the last build, it rebuilds first (about 0.2 s).
// Under `node --import tsx …` (the tests, the benchmarks) it runs the TypeScript sources instead.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  console.error(`grok2api needs Node.js 22 or newer (this is ${process.version}). See the README.`);
  process.exit(1);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const fromSource = process.execArgv.some((a, i) => /(^|[=/])tsx(\/|$)/.test(a) || (a === "--import" && /(^|\/)tsx/.test(process.execArgv[i + 1] ?? "")));

async function compiledEntry() {
  const entry = path.join(root, "dist/server/cli.js");
  const build = path.join(root, "scripts/build-server.mjs");
  if (existsSync(path.join(root, "src/server")) && existsSync(build)) {
    let info = null;
    try {
      info = JSON.parse(readFileSync(path.join(root, "dist/build-info.json"), "utf8"));
    } catch {
      /* never built */
    }
    const { listSources, buildServer } = await import(pathToFileURL(build).href);
    const now = listSources(root);
    if (!info || !existsSync(entry) || now.newest > info.newestSourceMtimeMs || now.files.length !== info.files) {
      try {
        await buildServer({ quiet: true });
        if (info) console.error("grok2api: sources changed since the last build; rebuilt dist/ (npm run build:server)");
      } catch (err) {
        if (!existsSync(entry)) throw new Error(`dist/ is missing and could not be built (${err instanceof Error ? err.message : err}); run "npm ci" or "npm run build:server"`);
        console.error(`grok2api: sources changed since the last build but rebuilding failed (${err instanceof Error ? err.message : err}); running the old build`);
      }
    }
  }
  if (!existsSync(entry)) throw new Error('dist/server/cli.js is missing: run "npm run build:server" (npm ci does it)');
  return pathToFileURL(entry).href;
}

try {
  const { main } = await import(fromSource ? "../src/server/cli.ts" : await compiledEntry());
  await main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
