#!/usr/bin/env node
/**
 * Compiles the server (src/server, src/shared) to plain JavaScript in dist/ — one .js file per
 * .ts file, same folder layout (dist/server/…, dist/shared/…), ES modules for Node 22 — so
 * `npm start` runs JavaScript instead of transpiling TypeScript at every start. Type-checking is
 * separate (`npm run typecheck`); this only strips the types (esbuild).
 *
 * Run by `npm ci` / `npm install` (the `prepare` script) and `npm run build:server`; bin/grok2api.mjs
 * rebuilds by itself when a source is newer than the last build. Writes dist/build-info.json
 * (newest source mtime, file count) for that check.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const SOURCE_DIRS = ["src/server", "src/shared"];
const OUT = path.join(ROOT, "dist");

/** Every .ts source of the server (tests and declaration files excluded), with the newest mtime. */
export function listSources(root = ROOT) {
  const files = [];
  let newest = 0;
  const walk = (dir) => {
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.name.endsWith(".ts") && !ent.name.endsWith(".d.ts") && !ent.name.endsWith(".test.ts")) {
        files.push(p);
        const m = statSync(p).mtimeMs;
        if (m > newest) newest = m;
      }
    }
  };
  for (const d of SOURCE_DIRS) walk(path.join(root, d));
  return { files, newest };
}

export async function buildServer({ quiet = false } = {}) {
  const { build } = await import("esbuild");
  const t0 = performance.now();
  const { files, newest } = listSources();
  // built next to dist/ and swapped in by rename, so a server starting meanwhile never sees half a build
  const tmp = path.join(OUT, `.build-${process.pid}-${Date.now()}`);
  await build({
    entryPoints: files,
    outdir: tmp,
    outbase: path.join(ROOT, "src"),
    format: "esm",
    platform: "node",
    target: "node22",
    sourcemap: "linked",
    logLevel: "warning",
  });
  mkdirSync(OUT, { recursive: true });
  for (const d of SOURCE_DIRS) {
    const name = path.relative("src", d);
    const old = path.join(tmp, `${name}.old`);
    try {
      renameSync(path.join(OUT, name), old);
    } catch {
      /* first build */
    }
    renameSync(path.join(tmp, name), path.join(OUT, name));
  }
  rmSync(tmp, { recursive: true, force: true });
  writeFileSync(path.join(OUT, "build-info.json"), JSON.stringify({ newestSourceMtimeMs: newest, files: files.length, builtAt: new Date().toISOString() }) + "\n");
  if (!quiet) console.log(`build:server: ${files.length} files → dist/ in ${Math.round(performance.now() - t0)} ms`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildServer({ quiet: process.argv.includes("--quiet") });
}
