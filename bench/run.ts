/**
 * `npm run bench`: runs every benchmark in its own process, one after the other, and prints
 * their figures. Each is bounded in count and time and talks only to 127.0.0.1.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const only = process.argv.slice(2);
const benches = ["pool-lease.ts", "ttfb-inprocess.ts", "proxy-overhead.ts", "store-write.ts"].filter((b) => !only.length || only.some((o) => b.includes(o)));
let failed = 0;
for (const b of benches) {
  console.log(`\n=== ${b}`);
  const r = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", path.join("bench", b)], { cwd: ROOT, stdio: "inherit", timeout: 10 * 60_000 });
  if (r.status !== 0) {
    failed++;
    console.log(`${b} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exit(failed ? 1 : 0);
