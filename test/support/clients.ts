import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * The heavy real clients of test/clients (Claude Code, Codex CLI), installed apart from the main
 * package with `npm ci --prefix test/clients` (.ci/run does it). Each returns the absolute path of
 * the client's *native* binary, checked to exist and to answer `--version` with the pinned
 * version, or null. Tests that drive a client skip when it is null and say why:
 *
 *     const claude = claudeBinary();
 *     describe.skipIf(!claude)(`claude code e2e${claude ? "" : ` (skipped: ${skipReason("claude")})`}`, () => { … });
 *
 * Why the native binaries, not `node_modules/.bin`: `@anthropic-ai/claude-code`'s `bin/claude.exe`
 * is a 500-byte stub that exits 1 until its postinstall copies the native binary over it, and
 * npm may not run install scripts (`--ignore-scripts`, or npm's allowScripts policy). The native
 * binary sits in the platform package `@anthropic-ai/claude-code-<platform>-<arch>[-musl]/claude`
 * whatever npm did. `@openai/codex`'s `bin/codex.js` is a Node launcher that only execs
 * `@openai/codex-<platform>-<arch>/vendor/<triple>/bin/codex`; the native binary is called
 * directly so no Node is needed on PATH.
 */

export type Client = "claude" | "codex";

export const CLIENTS_DIR = path.resolve(import.meta.dirname, "..", "clients");
const MODULES = path.join(CLIENTS_DIR, "node_modules");

function pinned(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(CLIENTS_DIR, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
    return pkg.dependencies?.[name] ?? "?";
  } catch {
    return "?";
  }
}

/** The exact versions pinned in test/clients/package.json. */
export const CLAUDE_VERSION = pinned("@anthropic-ai/claude-code");
export const CODEX_VERSION = pinned("@openai/codex");

interface Found {
  bin: string | null;
  /** Output of `--version` when found. */
  version: string | null;
  /** Why bin is null ("" when found). */
  reason: string;
}

const INSTALL_HINT = "run `npm ci --prefix test/clients` (about 800 MB, from the npm registry only)";

/** Candidate package dirs of the platform packages, e.g. claude-code-linux-x64 and claude-code-linux-x64-musl. */
function platformDirs(scope: string, prefix: string): string[] {
  const dir = path.join(MODULES, scope);
  if (!existsSync(dir)) return [];
  const base = `${prefix}-${process.platform}-${process.arch}`;
  return readdirSync(dir)
    .filter((n) => n === base || n.startsWith(`${base}-`))
    .sort((a, b) => a.length - b.length) // glibc build before -musl
    .map((n) => path.join(dir, n));
}

function probe(candidates: string[], want: string, label: string, what: string): Found {
  if (!existsSync(MODULES)) return { bin: null, version: null, reason: `${label} is not installed: test/clients/node_modules is missing; ${INSTALL_HINT}` };
  if (candidates.length === 0) return { bin: null, version: null, reason: `${label}: no native binary for ${process.platform}-${process.arch} in test/clients/node_modules (${what}); ${INSTALL_HINT}` };
  const problems: string[] = [];
  for (const bin of candidates) {
    const r = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 20_000, env: { ...process.env, DISABLE_AUTOUPDATER: "1", NO_COLOR: "1" } });
    const out = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim();
    if (r.error || r.status !== 0) {
      problems.push(`${bin}: ${r.error ? r.error.message : `exit ${r.status}`}${out ? `: ${out.split("\n")[0]}` : ""}`);
      continue;
    }
    if (!out.includes(want)) {
      problems.push(`${bin}: --version says ${JSON.stringify(out)}, expected ${want}`);
      continue;
    }
    return { bin, version: out, reason: "" };
  }
  return { bin: null, version: null, reason: `${label} ${want} does not run: ${problems.join("; ")}; ${INSTALL_HINT}` };
}

const cache = new Map<Client, Found>();

function find(client: Client): Found {
  let f = cache.get(client);
  if (f) return f;
  if (client === "claude") {
    const candidates = platformDirs("@anthropic-ai", "claude-code")
      .map((d) => path.join(d, process.platform === "win32" ? "claude.exe" : "claude"))
      .filter((p) => existsSync(p));
    // The wrapper's bin/claude.exe is the native binary only after its postinstall ran.
    const wrapped = path.join(MODULES, "@anthropic-ai", "claude-code", "bin", "claude.exe");
    if (existsSync(wrapped)) candidates.push(wrapped);
    f = probe(candidates, CLAUDE_VERSION, "Claude Code", "@anthropic-ai/claude-code-<platform>/claude");
  } else {
    const candidates: string[] = [];
    for (const d of platformDirs("@openai", "codex")) {
      const vendor = path.join(d, "vendor");
      if (!existsSync(vendor)) continue;
      for (const triple of readdirSync(vendor)) {
        const p = path.join(vendor, triple, "bin", process.platform === "win32" ? "codex.exe" : "codex");
        if (existsSync(p)) candidates.push(p);
      }
    }
    f = probe(candidates, CODEX_VERSION, "Codex CLI", "@openai/codex-<platform>/vendor/<triple>/bin/codex");
  }
  cache.set(client, f);
  return f;
}

/** Absolute path of Claude Code's native binary (pinned version, runs), or null. */
export function claudeBinary(): string | null {
  return find("claude").bin;
}

/** Absolute path of Codex CLI's native binary (pinned version, runs), or null. */
export function codexBinary(): string | null {
  return find("codex").bin;
}

/** What `<binary> --version` printed, or null when the client is not usable. */
export function clientVersion(client: Client): string | null {
  return find(client).version;
}

/** Why the client is unusable, for a skip message ("" when it is usable). */
export function skipReason(client: Client): string {
  return find(client).reason;
}

/**
 * Set by .ci/run: the clients must be installed, so a missing client is a failure there, not
 * a skip (the smoke test checks it).
 */
export const clientsRequired = process.env.GROK2API_REQUIRE_CLIENTS === "1";
