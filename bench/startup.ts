/**
 * Start-up footprint: time from spawning `node bin/grok2api.mjs serve` (the compiled server, as
 * `npm start` runs it) to the first 200 from /health, and its RSS 1.5 s after that and once idle
 * (15 s: V8's memory reducer has run), against a baseline in the same run: a bare Node HTTP server
 * answering /health. Cases: an existing data folder without GROK2API_ADMIN_PASSWORD (a normal
 * restart), and with it (the hash is verified at start: scrypt runs while the server listens).
 * Targets: ≤ 400 ms, ≤ 90 MB idle. `--quick`: one start of each, no 15 s wait (CI: it must answer).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { QUICK, ROOT, pct, rssOf, verdict } from "./support/harness.js";

const RUNS = QUICK ? 1 : Number(process.env.BENCH_RUNS ?? 5);
const BASELINE = `require("node:http").createServer((q, s) => s.end('{"status":"ok"}')).listen(Number(process.env.PORT), "127.0.0.1")`;

async function once(args: string[], env: Record<string, string>, idleMs: number): Promise<{ ms: number; rss: number; idleRss: number }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env, PORT: String(port), LOG_LEVEL: "error" }, stdio: ["ignore", "ignore", "inherit"] });
  try {
    let ms = -1;
    for (let i = 0; i < 2000 && ms < 0; i++) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/health`);
        if (r.status === 200 && ((await r.json()) as { status?: string }).status === "ok") ms = performance.now() - t0;
      } catch {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    if (ms < 0) throw new Error(`no /health from ${args.join(" ")}`);
    await new Promise((r) => setTimeout(r, 1500));
    const rss = rssOf(child.pid!);
    if (idleMs > 0) await new Promise((r) => setTimeout(r, idleMs));
    return { ms, rss, idleRss: idleMs > 0 ? rssOf(child.pid!) : rss };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

const dataDir = mkdtempSync(path.join(tmpdir(), "g2a-startup-"));
try {
  const env = { GROK2API_DATA_DIR: dataDir };
  await once(["bin/grok2api.mjs", "serve"], { ...env, GROK2API_ADMIN_PASSWORD: "startup-bench-password" }, 0); // first run: data folder made, dist/ current
  const cases: Array<[string, string[], Record<string, string>]> = [
    ["baseline: bare node http", ["-e", BASELINE], {}],
    ["grok2api, existing data", ["bin/grok2api.mjs", "serve"], env],
    ["grok2api, env password", ["bin/grok2api.mjs", "serve"], { ...env, GROK2API_ADMIN_PASSWORD: "startup-bench-password" }],
  ];
  const res: Record<string, Array<{ ms: number; rss: number; idleRss: number }>> = {};
  for (let i = 0; i < RUNS; i++) for (const [label, args, e] of cases) (res[label] ??= []).push(await once(args, e, !QUICK && i === 0 ? 15_000 : 0));
  console.log(`\nstart-up: ${RUNS} starts each, interleaved; start → first 200 from /health; RSS 1.5 s later (and after 15 s idle, first start)`);
  for (const [label, xs] of Object.entries(res)) {
    const ms = xs.map((x) => x.ms);
    const mb = (b: number) => (b / 1048576).toFixed(1);
    console.log(`  ${label.padEnd(26)} ${Math.round(pct(ms, 50))} ms p50 (${Math.round(Math.min(...ms))}–${Math.round(Math.max(...ms))}), RSS ${mb(Math.min(...xs.map((x) => x.rss)))}–${mb(Math.max(...xs.map((x) => x.rss)))} MB${QUICK ? "" : `, idle ${mb(xs[0]!.idleRss)} MB`}`);
  }
  for (const label of ["grok2api, existing data", "grok2api, env password"]) {
    const xs = res[label]!;
    const p50 = pct(xs.map((x) => x.ms), 50);
    const idle = Math.max(...xs.map((x) => x.idleRss));
    console.log(`  ${label}: start ${Math.round(p50)} ms (target ≤ 400: ${verdict(p50 <= 400)}), idle RSS ${(idle / 1048576).toFixed(1)} MB (target ≤ 90: ${verdict(idle <= 90 * 1048576)})`);
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
