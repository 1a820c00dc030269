/**
 * Gateway streaming under load: 50 concurrent streams × a 2 000-chunk answer over the WebSocket
 * gateway, through the proxy vs a direct ws client of the fake grok.com, rounds interleaved so
 * both see the same machine. Figures: answer throughput (proxy / direct, target ≥ 0.9) and added
 * time to the first answer text (p50 ≤ 5 ms, p99 ≤ 20 ms), plus the proxy's CPU per chunk.
 * `--quick` (BENCH_QUICK=1): a few small rounds, for CI (errors and content only).
 * `--profile` writes a CPU profile of the proxy to bench/results/. `--paced=MS`: the fake waits MS
 * between frames (a grok.com-like pace instead of a flood that saturates the fake), fewer rounds.
 */
import { QUICK, concurrent, cpuMsOf, directGateway, ms, pct, ratio, startFake, startProxy, stopAll, verdict, viaProxy, type Timing } from "./support/harness.js";

const STREAMS = QUICK ? 5 : Number(process.env.BENCH_STREAMS ?? 50);
const WORDS = QUICK ? 200 : 2000;
const ROUNDS = QUICK ? 2 : Number(process.env.BENCH_ROUNDS ?? 6);
const profile = process.argv.includes("--profile");
const paced = Number(process.argv.find((a) => a.startsWith("--paced="))?.slice(8) ?? 0);

try {
  const fake = await startFake(10, WORDS);
  const proxy = await startProxy(fake, {
    transport: "fetch",
    settings: { chat_transport: "gateway", account_concurrency: 0 },
    nodeArgs: profile ? ["--cpu-prof", "--cpu-prof-dir=bench/results"] : [],
  });
  const chars = fake.text.length;
  if (paced > 0) await fetch(`${fake.url}/__control/default`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ scenario: { name: "slow", delayMs: paced, text: fake.text } }) });
  const direct = (i: number) => directGateway(fake, i);
  const proxied = () => viaProxy(proxy.url);
  for (let i = 0; i < 3; i++) {
    await concurrent(Math.min(10, STREAMS), 1, direct, chars);
    await concurrent(Math.min(10, STREAMS), 1, proxied, chars);
  }
  const d = { secs: 0, t: [] as Timing[] };
  const p = { secs: 0, t: [] as Timing[], cpu: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    let t0 = performance.now();
    d.t.push(...(await concurrent(STREAMS, 1, direct, chars)).timings);
    d.secs += (performance.now() - t0) / 1000;
    const cpu0 = cpuMsOf(proxy.pid);
    t0 = performance.now();
    p.t.push(...(await concurrent(STREAMS, 1, proxied, chars)).timings);
    p.secs += (performance.now() - t0) / 1000;
    p.cpu += cpuMsOf(proxy.pid) - cpu0;
  }
  const stats = await proxy.stats();
  if (stats.in_flight !== 0) throw new Error(`${stats.in_flight} leases still held after the run`);
  const tpD = (STREAMS * ROUNDS * chars) / d.secs;
  const tpP = (STREAMS * ROUNDS * chars) / p.secs;
  const ttfb = (xs: Timing[], q: number) => pct(xs.map((x) => x.ttfb), q);
  const addedP50 = ttfb(p.t, 50) - ttfb(d.t, 50);
  const addedP99 = ttfb(p.t, 99) - ttfb(d.t, 99);
  const chunks = STREAMS * ROUNDS * WORDS;
  console.log(`\ngateway streaming: ${STREAMS} concurrent streams × ${WORDS} chunks (${chars} chars)${paced ? `, ${paced} ms between frames` : ""}, ${ROUNDS} rounds each, interleaved`);
  console.log(`                         direct (ws)   proxy`);
  console.log(`  throughput (chars/s)   ${String(Math.round(tpD)).padStart(11)} ${String(Math.round(tpP)).padStart(9)}   ratio ${ratio(tpP, tpD)} (target ≥ 0.90: ${verdict(tpP / tpD >= 0.9)})`);
  console.log(`  first text p50 (ms)    ${ms(ttfb(d.t, 50)).padStart(11)} ${ms(ttfb(p.t, 50)).padStart(9)}   added ${ms(addedP50)} (target ≤ 5: ${verdict(addedP50 <= 5)})`);
  console.log(`  first text p99 (ms)    ${ms(ttfb(d.t, 99)).padStart(11)} ${ms(ttfb(p.t, 99)).padStart(9)}   added ${ms(addedP99)} (target ≤ 20: ${verdict(addedP99 <= 20)})`);
  console.log(`  proxy CPU: ${(p.cpu / 1000).toFixed(2)} s for ${chunks} chunks = ${((p.cpu * 1000) / chunks).toFixed(1)} µs per chunk`);
} finally {
  await stopAll();
}
