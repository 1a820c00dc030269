/**
 * Proxy overhead against a direct call to the fake grok.com, in the same run:
 *  - added time to first byte (p50 / p99) for sequential streaming requests;
 *  - streaming throughput (answer characters per second) with 1 and 100 concurrent streams,
 *    proxy vs direct, as a ratio;
 *  - memory per open stream in the proxy process (RSS growth with 100 streams held open).
 * The fake and the proxy each run in their own process; this process is the client.
 * Bounded: a fixed number of requests, everything on 127.0.0.1, children killed at the end.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { Impit } from "impit";
import { Agent, fetch } from "undici";
import { directRestInit } from "./support/harness.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const agent = new Agent({ connections: 512, pipelining: 1 });
const children: ChildProcess[] = [];
const ADMIN_PASSWORD = "bench-admin-password";

function spawnNode(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return child;
}

async function firstLine(child: ChildProcess, match: RegExp): Promise<string> {
  const rl = createInterface({ input: child.stdout! });
  for await (const line of rl) if (match.test(line)) return line;
  throw new Error("child exited before printing " + match);
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

interface Fake {
  url: string;
  accounts: Array<{ sso: string; userId: string }>;
  text: string;
}

function directRequest(fake: Fake, i: number) {
  const { url, ...init } = directRestInit(fake, i);
  return fetch(url, { method: "POST", dispatcher: agent, ...init });
}

const impit = new Impit({ browser: "chrome142", timeout: 86_400_000 });
/** The same direct call through impit: the raw cost of the impit transport, without the proxy. */
function directImpitRequest(fake: Fake, i: number) {
  const { url, ...init } = directRestInit(fake, i);
  return impit.fetch(url, { method: "POST", ...init }) as unknown as ReturnType<typeof fetch>;
}

function proxyRequest(proxyUrl: string) {
  return fetch(`${proxyUrl}/v1/chat/completions`, {
    dispatcher: agent,
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer bench" },
    body: JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: "bench" }], stream: true }),
  });
}

/**
 * Reads a whole response; returns the time to the first byte of ANSWER TEXT (the first token
 * frame directly, the first content chunk through the proxy — metadata frames the proxy does not
 * forward are not counted for either) and the total time (ms).
 */
const FIRST_TEXT = /"(token|content)":"word/;
async function consume(res: Awaited<ReturnType<typeof fetch>>, t0: number): Promise<{ ttfb: number; total: number; bytes: number }> {
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let ttfb = -1;
  let bytes = 0;
  const decoder = new TextDecoder();
  for await (const chunk of res.body!) {
    if (ttfb < 0 && FIRST_TEXT.test(decoder.decode(chunk as Uint8Array, { stream: true }))) ttfb = performance.now() - t0;
    bytes += (chunk as Uint8Array).length;
  }
  return { ttfb, total: performance.now() - t0, bytes };
}

async function timed(make: () => ReturnType<typeof fetch>) {
  const t0 = performance.now();
  return consume(await make(), t0);
}

async function throughput(n: number, rounds: number, make: (i: number) => ReturnType<typeof fetch>, chars: number): Promise<number> {
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) await Promise.all(Array.from({ length: n }, (_, i) => timed(() => make(r * n + i))));
  const secs = (performance.now() - t0) / 1000;
  return (n * rounds * chars) / secs;
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

async function startProxy(fake: Fake, transport: string, dataDir: string): Promise<string> {
  const child = spawnNode(["bin/grok2api.mjs", "serve"], {
    PORT: "0",
    GROK2API_DATA_DIR: dataDir,
    GROK2API_UPSTREAM_URL: fake.url,
    GROK2API_ASSETS_URL: fake.url,
    GROK2API_ADMIN_PASSWORD: ADMIN_PASSWORD,
    GROK2API_TRANSPORT: transport,
    LOG_LEVEL: "error",
  });
  const line = await firstLine(child, /listening on/);
  const url = /(http:\/\/\S+)/.exec(line)![1]!;
  const login = (await (await fetch(`${url}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }) })).json()) as { token: string };
  const admin = { "content-type": "application/json", authorization: `Bearer ${login.token}` };
  await fetch(`${url}/api/tokens/add`, { method: "POST", headers: admin, body: JSON.stringify({ tokens: fake.accounts.map((a) => a.sso), token_type: "ssoSuper" }) });
  await fetch(`${url}/api/settings`, { method: "POST", headers: admin, body: JSON.stringify({ grok_config: { chat_transport: "rest", account_concurrency: 0, keepalive_interval: 60 } }) });
  pids.set(url, child.pid!);
  return url;
}
const pids = new Map<string, number>();

async function main() {
  const fakeChild = spawnNode(["bench/support/fake-child.ts", "10", "1000"], {});
  const fake = JSON.parse(await firstLine(fakeChild, /^\{/)) as Fake;
  const dirs = [mkdtempSync(path.join(tmpdir(), "g2a-bench-")), mkdtempSync(path.join(tmpdir(), "g2a-bench-"))];
  const viaImpit = await startProxy(fake, "impit", dirs[0]!);
  const viaFetch = await startProxy(fake, "fetch", dirs[1]!);
  const chars = fake.text.length;
  const direct = (i: number) => directRequest(fake, i);
  const directImpit = (i: number) => directImpitRequest(fake, i);
  const proxyImpit = () => proxyRequest(viaImpit);
  const proxyFetch = () => proxyRequest(viaFetch);

  for (let i = 0; i < 20; i++) for (const make of [direct, directImpit, proxyImpit, proxyFetch]) await timed(() => make(i));

  // 1. time to first byte, sequential, interleaved so all see the same machine state
  const N = Number(process.env.BENCH_TTFB_N ?? 300);
  const ttfb = { direct: [] as number[], directImpit: [] as number[], proxyImpit: [] as number[], proxyFetch: [] as number[] };
  for (let i = 0; i < N; i++) {
    ttfb.direct.push((await timed(() => direct(i))).ttfb);
    ttfb.directImpit.push((await timed(() => directImpit(i))).ttfb);
    ttfb.proxyImpit.push((await timed(proxyImpit)).ttfb);
    ttfb.proxyFetch.push((await timed(proxyFetch)).ttfb);
  }

  // 2. throughput, 1 and 100 concurrent streams
  const tp = async (n: number, rounds: number) => ({
    direct: await throughput(n, rounds, direct, chars),
    directImpit: await throughput(n, rounds, directImpit, chars),
    proxyImpit: await throughput(n, rounds, proxyImpit, chars),
    proxyFetch: await throughput(n, rounds, proxyFetch, chars),
  });
  const t1 = await tp(1, 30);
  const t100 = await tp(100, 3);

  // 3. memory per open stream: 100 streams held open (slow scenario) in the impit proxy
  await fetch(`${fake.url}/__control/default`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ scenario: { name: "slow", delayMs: 1000, text: fake.text.slice(0, 2000) } }) });
  await new Promise((r) => setTimeout(r, 500));
  const pid = pids.get(viaImpit)!;
  const heap = async () => ((await (await fetch(`${viaImpit}/health`)).json()) as { memory: { heap_used: number } }).memory.heap_used;
  const before = rssOf(pid);
  const heapBefore = await heap();
  const responses = await Promise.all(Array.from({ length: 100 }, proxyImpit));
  const readers = responses.map((r) => r.body!.getReader());
  await Promise.all(readers.map((r) => r.read()));
  await new Promise((r) => setTimeout(r, 1500));
  const during = rssOf(pid);
  const heapDuring = await heap();
  await Promise.all(readers.map((r) => r.cancel()));

  const ms = (x: number) => x.toFixed(2);
  const p = (xs: number[], q: number) => pct(xs, q);
  const ratio = (a: number, b: number) => `${((a / b) * 100).toFixed(0)}%`;
  console.log(`\nproxy overhead: REST chat, answer ${chars} chars in 1000 frames, ${N} sequential requests for TTFB`);
  console.log("                               direct(undici)  direct(impit)  proxy(impit)  proxy(fetch)");
  console.log(`  TTFB p50 (ms)                ${ms(p(ttfb.direct, 50)).padStart(14)} ${ms(p(ttfb.directImpit, 50)).padStart(14)} ${ms(p(ttfb.proxyImpit, 50)).padStart(13)} ${ms(p(ttfb.proxyFetch, 50)).padStart(13)}`);
  console.log(`  TTFB p99 (ms)                ${ms(p(ttfb.direct, 99)).padStart(14)} ${ms(p(ttfb.directImpit, 99)).padStart(14)} ${ms(p(ttfb.proxyImpit, 99)).padStart(13)} ${ms(p(ttfb.proxyFetch, 99)).padStart(13)}`);
  for (const [label, t] of [["1 stream", t1], ["100 streams", t100]] as const)
    console.log(`  throughput ${label.padEnd(12)} (chars/s) ${String(Math.round(t.direct)).padStart(9)} ${String(Math.round(t.directImpit)).padStart(14)} ${String(Math.round(t.proxyImpit)).padStart(13)} ${String(Math.round(t.proxyFetch)).padStart(13)}`);
  console.log("\n  added TTFB p50: proxy(fetch) − direct(undici) = " + ms(p(ttfb.proxyFetch, 50) - p(ttfb.direct, 50)) + " ms; proxy(impit) − direct(impit) = " + ms(p(ttfb.proxyImpit, 50) - p(ttfb.directImpit, 50)) + " ms (target < 2 ms)");
  console.log("  added TTFB p99: proxy(fetch) − direct(undici) = " + ms(p(ttfb.proxyFetch, 99) - p(ttfb.direct, 99)) + " ms; proxy(impit) − direct(impit) = " + ms(p(ttfb.proxyImpit, 99) - p(ttfb.directImpit, 99)) + " ms");
  for (const [label, t] of [["1 stream", t1], ["100 streams", t100]] as const)
    console.log(`  throughput ${label}: proxy(fetch)/direct(undici) ${ratio(t.proxyFetch, t.direct)}, proxy(impit)/direct(impit) ${ratio(t.proxyImpit, t.directImpit)}, proxy(impit)/direct(undici) ${ratio(t.proxyImpit, t.direct)} (target ≥ 90%)`);
  console.log(`  proxy(impit) with 100 open streams: RSS ${(before / 1048576).toFixed(1)} → ${(during / 1048576).toFixed(1)} MiB, JS heap ${(heapBefore / 1048576).toFixed(1)} → ${(heapDuring / 1048576).toFixed(1)} MiB = ${((heapDuring - heapBefore) / 100 / 1024).toFixed(1)} KiB heap per open stream`);
  for (const c of children) c.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 500));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

try {
  await main();
} finally {
  for (const c of children) c.kill("SIGTERM");
  await agent.close();
}
