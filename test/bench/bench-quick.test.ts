/**
 * The benchmarks' short versions (`--quick`) as a check of errors and content only: each runs in
 * its own process (fake grok.com and the compiled proxy as child processes, 127.0.0.1 only, a few
 * small rounds, bounded by a timeout) and must exit 0 — a benchmark exits non-zero when a request
 * fails, an answer is incomplete or wrong, or a lease is left held — and print its figures. No
 * timing is asserted: the figures are read by people (bench/README.md), never by this test.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");

function runBench(file: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join("bench", file), "--quick"], { cwd: ROOT, env: { ...process.env, BENCH_QUICK: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    const guard = setTimeout(() => child.kill("SIGKILL"), 100_000);
    child.once("exit", (code) => {
      clearTimeout(guard);
      resolve({ code, out });
    });
  });
}

describe("benchmarks, short versions (errors and content only)", { timeout: 120_000 }, () => {
  it.each([
    ["startup.ts", /grok2api, existing data: start \d+ ms/],
    ["short-chats.ts", /added p50 over fetch: -?[\d.]+ ms/],
    ["gateway-stream.ts", /throughput \(chars\/s\)\s+\d+\s+\d+/],
    ["rest-stream.ts", /impit, +\d+ streams: direct \d+ chars\/s, proxy \d+ chars\/s[\s\S]*fetch, +\d+ streams: direct \d+ chars\/s, proxy \d+ chars\/s/],
    ["open-streams.ts", /errors: 0 \(target 0[\s\S]*leases held afterwards: 0/],
  ])("%s runs clean", async (file, figures) => {
    const { code, out } = await runBench(file);
    expect(code, out).toBe(0);
    expect(out).toMatch(figures);
  });
});
