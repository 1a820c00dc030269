/**
 * `npm run bench`: runs every benchmark in its own process, one after the other, and prints
 * their figures, each against its baseline measured in the same run. Each is bounded in count
 * and time and talks only to 127.0.0.1. `npm run bench -- gateway` runs the ones whose file name
 * contains "gateway"; `--quick` (or BENCH_QUICK=1) runs the short CI versions.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args.filter((a) => !a.startsWith("--"));
const ALL = ["startup.ts", "short-chats.ts", "gateway-stream.ts", "rest-stream.ts", "open-streams.ts", "pool-lease.ts", "ttfb-inprocess.ts", "proxy-overhead.ts", "store-write.ts"];
const benches = ALL.filter((b) => !only.length || only.some((o) => b.includes(o)));
let failed = 0;
for (const b of benches) {
  console.log(`\n=== ${b}`);
  const r = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", path.join("bench", b), ...(quick ? ["--quick"] : [])], { cwd: ROOT, stdio: "inherit", timeout: 10 * 60_000, env: { ...process.env, ...(quick ? { BENCH_QUICK: "1" } : {}) } });
  if (r.status !== 0) {
    failed++;
    console.log(`${b} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exit(failed ? 1 : 0);
