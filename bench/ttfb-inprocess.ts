/**
 * The proxy's own added latency, without process scheduling: the fake grok.com and the proxy in
 * THIS process, sequential requests, time from sending to the first byte of answer text, for a
 * direct REST call and for the same call through the proxy (fetch transport, REST chat).
 * Complements proxy-overhead.ts, whose cross-process figures include extra process wake-ups
 * (three busy processes on a 2-core machine).
 */
import { randomUUID } from "node:crypto";
import { startStack } from "../test/support/stack.js";

const N = Number(process.argv[2] ?? 1000);
const stack = await startStack({ accounts: ["super", "super"], transport: "fetch", settings: { chat_transport: "rest", account_concurrency: 0 } });
for (const a of stack.accounts) stack.fake.setQuota(a.sso, "fast", { remaining: 1e9, total: 1e9, windowSeconds: 86400 });

async function firstText(res: Response, marker: RegExp, t0: number): Promise<number> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let at = -1;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (at < 0 && marker.test(dec.decode(value, { stream: true }))) at = performance.now() - t0;
  }
  return at;
}
const proxyBody = JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: "x" }], stream: true });
const proxied = async () => {
  const t0 = performance.now();
  return firstText(await fetch(`${stack.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: proxyBody }), /"content":"Hi/, t0);
};
const direct = async (i: number) => {
  const acc = stack.accounts[i % 2]!;
  const t0 = performance.now();
  const res = await fetch(`${stack.fake.url}/rest/app-chat/conversations/new`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: stack.fake.url, cookie: `sso=${acc.sso}; sso-rw=${acc.sso}`, "x-xai-request-id": randomUUID(), "x-statsig-id": Buffer.from("x1:TypeError: x").toString("base64") },
    body: JSON.stringify({ message: "x", modeId: "fast", temporary: true }),
  });
  return firstText(res, /"token":"Hi/, t0);
};
for (let i = 0; i < 100; i++) await Promise.all([direct(i)]).then(() => proxied());
const d: number[] = [];
const p: number[] = [];
for (let i = 0; i < N; i++) {
  d.push(await direct(i));
  p.push(await proxied());
}
const q = (xs: number[], pc: number) => [...xs].sort((a, b) => a - b)[Math.floor((pc / 100) * xs.length)]!;
console.log(`\nin-process time to first answer text, ${N} sequential requests each (fake and proxy in one process)`);
console.log(`  p50 direct ${q(d, 50).toFixed(2)} ms, proxy ${q(p, 50).toFixed(2)} ms → added ${(q(p, 50) - q(d, 50)).toFixed(2)} ms (target < 2 ms)`);
console.log(`  p99 direct ${q(d, 99).toFixed(2)} ms, proxy ${q(p, 99).toFixed(2)} ms → added ${(q(p, 99) - q(d, 99)).toFixed(2)} ms`);
// Memory per open stream: 100 streams held open on a slow answer, heap measured after a full GC,
// direct (fake only) and through the proxy (fake + proxy); the difference is the proxy's share.
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) {
  const heapAfterGc = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
    }
    return process.memoryUsage().heapUsed;
  };
  stack.fake.setDefault({ name: "slow", delayMs: 5000, text: "Hi there and more words to keep it open" });
  const hold = async (open: () => Promise<Response>) => {
    const base = await heapAfterGc();
    const responses = await Promise.all(Array.from({ length: 100 }, open));
    const readers = responses.map((r) => r.body!.getReader());
    await Promise.all(readers.map((r) => r.read()));
    const during = await heapAfterGc();
    await Promise.all(readers.map((r) => r.cancel()));
    await new Promise((r) => setTimeout(r, 200));
    return (during - base) / 100;
  };
  const openDirect = (i = 0) => {
    const acc = stack.accounts[i % 2]!;
    return fetch(`${stack.fake.url}/rest/app-chat/conversations/new`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: stack.fake.url, cookie: `sso=${acc.sso}; sso-rw=${acc.sso}`, "x-xai-request-id": randomUUID(), "x-statsig-id": Buffer.from("x1:TypeError: x").toString("base64") },
      body: JSON.stringify({ message: "x", modeId: "fast", temporary: true }),
    });
  };
  const openProxy = () => fetch(`${stack.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: proxyBody });
  const perDirect = await hold(openDirect);
  const perProxy = await hold(openProxy);
  console.log(`  heap per open stream: direct ${(perDirect / 1024).toFixed(1)} KiB (fake + client), proxied ${(perProxy / 1024).toFixed(1)} KiB → proxy's share ≈ ${((perProxy - perDirect) / 1024).toFixed(1)} KiB`);
} else console.log("  (run with --expose-gc for the memory-per-stream figure)");
await stack.close();
