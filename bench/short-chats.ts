/**
 * Short sequential chats (a few words, streamed over REST), one at a time: the time to the first
 * answer text through the proxy vs a direct call of the fake grok.com, interleaved request by
 * request. Target: ≤ 0.5 ms added at p50 over fetch (undici). Also reported for impit.
 * `--quick`: 20 requests, for CI (errors and content only). `--profile`: CPU profile of the fetch proxy in bench/results/.
 */
import { QUICK, directImpit, directUndici, ms, pct, startFake, startProxy, stopAll, verdict, viaProxy, type Timing } from "./support/harness.js";

const N = QUICK ? 20 : Number(process.env.BENCH_N ?? 400);

try {
  const fake = await startFake(4, 8);
  const profile = process.argv.includes("--profile") ? ["--cpu-prof", "--cpu-prof-dir=bench/results"] : [];
  const viaFetch = await startProxy(fake, { transport: "fetch", settings: { chat_transport: "rest", account_concurrency: 0 }, nodeArgs: profile });
  const viaImpit = await startProxy(fake, { transport: "impit", settings: { chat_transport: "rest", account_concurrency: 0 } });
  const calls: Record<string, (i: number) => Promise<Timing>> = {
    "direct(undici)": (i) => directUndici(fake, i),
    "proxy(fetch)": () => viaProxy(viaFetch.url),
    "direct(impit)": (i) => directImpit(fake, i),
    "proxy(impit)": () => viaProxy(viaImpit.url),
  };
  const t: Record<string, number[]> = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
  for (let i = 0; i < Math.min(50, N); i++) for (const c of Object.values(calls)) await c(i);
  for (let i = 0; i < N; i++) for (const [k, c] of Object.entries(calls)) t[k]!.push((await c(i)).ttfb);
  console.log(`\nshort sequential chats: ${N} each, "${fake.text}", interleaved; time to the first answer text`);
  for (const [k, xs] of Object.entries(t)) console.log(`  ${k.padEnd(15)} p50 ${ms(pct(xs, 50)).padStart(6)} ms   p99 ${ms(pct(xs, 99)).padStart(6)} ms`);
  const addFetch = pct(t["proxy(fetch)"]!, 50) - pct(t["direct(undici)"]!, 50);
  const addImpit = pct(t["proxy(impit)"]!, 50) - pct(t["direct(impit)"]!, 50);
  console.log(`  added p50 over fetch: ${ms(addFetch)} ms (target ≤ 0.5: ${verdict(addFetch <= 0.5)}); over impit: ${ms(addImpit)} ms`);
} finally {
  await stopAll();
}
