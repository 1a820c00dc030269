/**
 * REST (NDJSON) streaming: the proxy over impit vs a direct impit call of the fake grok.com
 * (target ≥ 0.5 of direct), and the proxy over fetch (undici) vs a direct undici call, with
 * STREAMS concurrent streams of a 2 000-chunk answer, rounds interleaved; the proxy's CPU per
 * upstream chunk for each transport; impit at 1, 5 and 20 concurrent streams (BENCH_STREAMS=1,5,20).
 * `--quick`: small rounds for CI (errors and content only).
 */
import { QUICK, concurrent, cpuMsOf, directImpit, directUndici, startFake, startProxy, stopAll, verdict, viaProxy, type Fake, type Timing } from "./support/harness.js";

/** Concurrent streams: impit is measured at each of these, fetch at the last. */
const STREAM_COUNTS = QUICK ? [4] : (process.env.BENCH_STREAMS ?? "1,5,20").split(",").map(Number);
const WORDS = QUICK ? 200 : 2000;
const roundsFor = (streams: number) => (QUICK ? 2 : Number(process.env.BENCH_ROUNDS ?? Math.max(5, Math.round(40 / streams))));
const only = process.env.BENCH_TRANSPORT;
const profile = process.argv.includes("--profile");

async function pair(fake: Fake, transport: "impit" | "fetch", direct: (f: Fake, i: number) => Promise<Timing>, STREAMS: number) {
  const ROUNDS = roundsFor(STREAMS);
  const proxy = await startProxy(fake, { transport, settings: { chat_transport: "rest", account_concurrency: 0 }, nodeArgs: profile ? ["--cpu-prof", "--cpu-prof-dir=bench/results"] : [] });
  const chars = fake.text.length;
  const d = (i: number) => direct(fake, i);
  const p = () => viaProxy(proxy.url);
  for (let i = 0; i < 2; i++) {
    await concurrent(Math.min(4, STREAMS), 1, d, chars);
    await concurrent(Math.min(4, STREAMS), 1, p, chars);
  }
  let dSecs = 0;
  let pSecs = 0;
  let cpu = 0;
  for (let r = 0; r < ROUNDS; r++) {
    let t0 = performance.now();
    await concurrent(STREAMS, 1, d, chars);
    dSecs += (performance.now() - t0) / 1000;
    const c0 = cpuMsOf(proxy.pid);
    t0 = performance.now();
    await concurrent(STREAMS, 1, p, chars);
    pSecs += (performance.now() - t0) / 1000;
    cpu += cpuMsOf(proxy.pid) - c0;
  }
  const st = await proxy.stats();
  if (st.in_flight !== 0) throw new Error(`${st.in_flight} leases still held after the run`);
  const n = STREAMS * ROUNDS;
  return { direct: (n * chars) / dSecs, proxy: (n * chars) / pSecs, cpuPerChunkUs: (cpu * 1000) / (n * WORDS) };
}

try {
  const fake = await startFake(10, WORDS);
  console.log(`\nREST streaming: concurrent streams × ${WORDS} chunks (${fake.text.length} chars), rounds interleaved`);
  if (!only || only === "impit") {
    for (const n of STREAM_COUNTS) {
      const r = await pair(fake, "impit", directImpit, n);
      console.log(`  impit, ${String(n).padStart(2)} streams: direct ${Math.round(r.direct)} chars/s, proxy ${Math.round(r.proxy)} chars/s → ratio ${(r.proxy / r.direct).toFixed(2)} (target ≥ 0.50: ${verdict(r.proxy / r.direct >= 0.5)}); proxy CPU ${r.cpuPerChunkUs.toFixed(1)} µs per chunk`);
    }
  }
  if (!only || only === "fetch") {
    const n = STREAM_COUNTS.at(-1)!;
    const r = await pair(fake, "fetch", directUndici, n);
    console.log(`  fetch, ${String(n).padStart(2)} streams: direct ${Math.round(r.direct)} chars/s, proxy ${Math.round(r.proxy)} chars/s → ratio ${(r.proxy / r.direct).toFixed(2)} (target ≥ 0.90: ${verdict(r.proxy / r.direct >= 0.9)}); proxy CPU ${r.cpuPerChunkUs.toFixed(1)} µs per chunk`);
  }
} finally {
  await stopAll();
}
