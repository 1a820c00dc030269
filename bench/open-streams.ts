/**
 * Many open streams at once: STREAMS (1 000) concurrent streaming chats held open by a slow
 * answer (the fake waits between frames), over the gateway (the default chat transport; REST
 * over impit with BENCH_CHAT_TRANSPORT=rest).
 * Figures: errors (target 0), answers with the exact text, proxy memory per open stream (RSS, and
 * JS heap after full GCs, growth over the idle proxy ÷ streams; target ≤ 25 KB), leases still held afterwards
 * (target 0). Then backpressure toward the client: slow readers of a long answer that read
 * nothing for a while must not make the proxy buffer the answer (RSS growth stays bounded).
 * `--quick`: 50 streams, for CI (errors and content only).
 */
import { request } from "undici";
import { QUICK, agent, rssOf, startFake, startProxy, stopAll, verdict } from "./support/harness.js";

const STREAMS = QUICK ? 50 : Number(process.env.BENCH_STREAMS ?? 1000);
const TEXT = "alpha beta gamma delta epsilon";
const DELAY_MS = QUICK ? 400 : 4000;
const CHAT = JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: "open" }], stream: true });

/** Reads an SSE chat to its end: the answer text, or an error. Calls onFirst at the first content chunk. */
async function openStream(url: string, onFirst: () => void): Promise<{ text: string; done: boolean }> {
  const res = await request(`${url}/v1/chat/completions`, { method: "POST", dispatcher: agent, headers: { "content-type": "application/json" }, body: CHAT });
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${await res.body.text()}`);
  let buf = "";
  let text = "";
  let first = false;
  let done = false;
  for await (const chunk of res.body) {
    buf += chunk.toString();
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (!ev.startsWith("data: ")) continue;
      const data = ev.slice(6);
      if (data === "[DONE]") {
        done = true;
        continue;
      }
      const j = JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }>; error?: unknown };
      if (j.error) throw new Error(`in-band error: ${JSON.stringify(j.error)}`);
      const c = j.choices?.[0]?.delta?.content;
      if (c) {
        text += c;
        if (!first) {
          first = true;
          onFirst();
        }
      }
    }
  }
  return { text, done };
}

const CHAT_TRANSPORT = (process.env.BENCH_CHAT_TRANSPORT ?? "gateway") as "gateway" | "rest";

try {
  const fake = await startFake(10, 5);
  const proxy = await startProxy(fake, { transport: "impit", settings: { chat_transport: CHAT_TRANSPORT, account_concurrency: 0 }, heap: true });
  // warm the proxy (JIT, connection pools), then let it settle
  await fetch(`${fake.url}/__control/default`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ scenario: { name: "text", text: TEXT } }) });
  for (let i = 0; i < 20; i++) await openStream(proxy.url, () => {});
  // The request log is a ring of `request_log_entries` (1 000) entries, full on any proxy that has
  // served that many requests: filled here first, so that the growth below is what the open streams
  // hold, not the ring filling up (~0.5 KiB an entry, bounded whatever the traffic).
  const RING = QUICK ? 0 : 1000;
  for (let i = 0; i < RING; i += 25) await Promise.all(Array.from({ length: 25 }, () => openStream(proxy.url, () => {})));
  await new Promise((r) => setTimeout(r, 1500));
  const rss0 = rssOf(proxy.pid);
  const heap0 = await proxy.heapAfterGc();

  // every stream gets its first token, then waits 4 s per frame
  await fetch(`${fake.url}/__control/default`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ scenario: { name: "slow", delayMs: DELAY_MS, text: TEXT } }) });
  let firsts = 0;
  let allFirst!: () => void;
  const opened = new Promise<void>((r) => (allFirst = r));
  const t0 = performance.now();
  const streams = Array.from({ length: STREAMS }, () =>
    openStream(proxy.url, () => {
      if (++firsts === STREAMS) allFirst();
    }).then(
      (r) => ({ ok: r.done && r.text === TEXT, error: r.done ? (r.text === TEXT ? null : `wrong text: ${r.text}`) : "no [DONE]" }),
      (e: unknown) => ({ ok: false, error: (e as Error).message }),
    ),
  );
  const guard = setTimeout(() => allFirst(), 60_000);
  await opened;
  clearTimeout(guard);
  const openedMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 500));
  const rss1 = rssOf(proxy.pid);
  const heap1 = await proxy.heapAfterGc();
  const statsOpen = await proxy.stats();
  const results = await Promise.all(streams);
  const errors = results.filter((r) => !r.ok);
  await new Promise((r) => setTimeout(r, 300));
  const statsAfter = await proxy.stats();
  const perRss = (rss1 - rss0) / STREAMS / 1024;
  const perHeap = (heap1 - heap0) / STREAMS / 1024;
  console.log(`\nopen streams: ${STREAMS} concurrent streaming chats over ${CHAT_TRANSPORT === "gateway" ? "the gateway" : "REST (impit)"}, held open by a slow answer (${DELAY_MS / 1000} s between frames)`);
  console.log(`  all ${firsts}/${STREAMS} had their first token after ${Math.round(openedMs)} ms; in flight then: ${statsOpen.in_flight}`);
  console.log(`  errors: ${errors.length} (target 0: ${verdict(errors.length === 0)})${errors.length ? ` e.g. ${errors[0]!.error}` : ""}; answers complete and exact: ${results.length - errors.length}`);
  console.log(`  proxy RSS ${(rss0 / 1048576).toFixed(1)} → ${(rss1 / 1048576).toFixed(1)} MiB = ${perRss.toFixed(1)} KiB per open stream; JS heap after GC ${(heap0 / 1048576).toFixed(1)} → ${(heap1 / 1048576).toFixed(1)} MiB = ${perHeap.toFixed(1)} KiB per open stream (target ≤ 25 KB: ${verdict(perHeap <= 24.4)})`);
  console.log(`  leases held afterwards: ${statsAfter.in_flight} (target 0: ${verdict(statsAfter.in_flight === 0)})`);

  // backpressure toward the client: clients that read nothing of a long answer for a while
  const READERS = QUICK ? 10 : 20;
  const big = Array.from({ length: QUICK ? 20_000 : 100_000 }, (_, i) => `w${i % 100}`).join(" ");
  await fetch(`${fake.url}/__control/default`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ scenario: { name: "text", text: big } }) });
  const heapNow = () => proxy.heapAfterGc();
  const rssB0 = rssOf(proxy.pid);
  const heapB0 = await heapNow();
  const slow = await Promise.all(Array.from({ length: READERS }, () => request(`${proxy.url}/v1/chat/completions`, { method: "POST", dispatcher: agent, headers: { "content-type": "application/json" }, body: CHAT })));
  await new Promise((r) => setTimeout(r, QUICK ? 1000 : 3000));
  const rssB1 = rssOf(proxy.pid);
  const heapB1 = await heapNow();
  let bytes = 0;
  await Promise.all(slow.map(async (r) => {
    for await (const c of r.body) bytes += c.length;
  }));
  const growth = (heapB1 - heapB0) / READERS / 1024;
  console.log(`  slow readers: ${READERS} clients not reading an answer of ${(bytes / READERS / 1e6).toFixed(1)} MB of SSE (${(big.length / 1e6).toFixed(1)} MB of text) for ${QUICK ? 1 : 3} s: proxy JS heap +${growth.toFixed(0)} KiB each, RSS +${((rssB1 - rssB0) / READERS / 1024).toFixed(0)} KiB each (bounded by the buffer marks, ≤ 4 MiB each whatever the answer's size: ${verdict(growth < 4096)})`);
  if (errors.length || statsAfter.in_flight !== 0) process.exitCode = 1;
} finally {
  await stopAll();
}
