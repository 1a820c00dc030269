// Preloaded into a proxy child by the benchmarks (node --expose-gc --import ./bench/support/heap-hook.mjs):
// on SIGUSR2 it runs full GCs and appends the JS heap in use (bytes) to $BENCH_HEAP_FILE.
import { appendFileSync } from "node:fs";

process.on("SIGUSR2", () => {
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  appendFileSync(process.env.BENCH_HEAP_FILE, `${process.memoryUsage().heapUsed}\n`);
});
