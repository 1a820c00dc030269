/**
 * Shared pieces of the benchmarks: the fake grok.com and the proxy in child processes (the proxy
 * runs the compiled server, as `npm start` does), direct calls to the fake as baselines (REST over
 * undici or impit, the WebSocket gateway over ws), response readers, percentiles, and CPU / RSS of
 * a child read from /proc. Everything talks to 127.0.0.1 only; children are killed by stopAll().
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { Impit } from "impit";
import { Agent, request } from "undici";
import WebSocket from "ws";
import { itemEvents, sessionCreateEvent, type GrokChatRequest } from "../../src/server/grok/chat-request.js";
import { websocketHeaders } from "../../src/server/grok/identity.js";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const QUICK = process.env.BENCH_QUICK === "1" || process.argv.includes("--quick");
const ADMIN_PASSWORD = "bench-admin-password";
const children: ChildProcess[] = [];
const dirs: string[] = [];
export const agent = new Agent({ connections: 2048, pipelining: 1 });

function spawnNode(args: string[], env: Record<string, string>, tsx: boolean): ChildProcess {
  const child = spawn(process.execPath, [...(tsx ? ["--import", "tsx"] : []), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return child;
}

async function firstLine(child: ChildProcess, match: RegExp): Promise<string> {
  const rl = createInterface({ input: child.stdout! });
  for await (const line of rl) if (match.test(line)) return line;
  throw new Error("child exited before printing " + match);
}

export interface Fake {
  url: string;
  accounts: Array<{ sso: string; userId: string }>;
  text: string;
  pid: number;
}

/** The fake grok.com in its own process: `accounts` Super accounts, a default answer of `words` words. */
export async function startFake(accounts: number, words: number): Promise<Fake> {
  const child = spawnNode(["bench/support/fake-child.ts", String(accounts), String(words)], {}, true);
  const fake = JSON.parse(await firstLine(child, /^\{/)) as Omit<Fake, "pid">;
  return { ...fake, pid: child.pid! };
}

export interface Proxy {
  url: string;
  pid: number;
  admin: Record<string, string>;
  setGrok(values: Record<string, unknown>): Promise<void>;
  stats(): Promise<{ in_flight: number; queue: { depth: number; queued: number; granted: number } }>;
  health(): Promise<{ memory: { rss: number; heap_used: number } }>;
  /** JS heap in use after full GCs (needs startProxy(…, { heap: true })). */
  heapAfterGc(): Promise<number>;
}

/** The proxy (compiled, `node bin/grok2api.mjs serve`) in front of the fake, with every fake account added. */
export async function startProxy(fake: Fake, opts: { transport: "impit" | "fetch"; settings?: Record<string, unknown>; nodeArgs?: string[]; heap?: boolean }): Promise<Proxy> {
  const dir = mkdtempSync(path.join(tmpdir(), "g2a-bench-"));
  dirs.push(dir);
  const heapFile = path.join(dir, "heap.txt");
  const heapArgs = opts.heap ? ["--expose-gc", "--import", "./bench/support/heap-hook.mjs"] : [];
  const child = spawnNode([...heapArgs, ...(opts.nodeArgs ?? []), "bin/grok2api.mjs", "serve"], {
    BENCH_HEAP_FILE: heapFile,
    PORT: "0",
    GROK2API_DATA_DIR: dir,
    GROK2API_UPSTREAM_URL: fake.url,
    GROK2API_ASSETS_URL: fake.url,
    GROK2API_ADMIN_PASSWORD: ADMIN_PASSWORD,
    GROK2API_TRANSPORT: opts.transport,
    LOG_LEVEL: "error",
  }, false);
  const line = await firstLine(child, /listening on/);
  const url = /(http:\/\/\S+)/.exec(line)![1]!;
  const login = (await (await fetch(`${url}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }) })).json()) as { token: string };
  const admin = { "content-type": "application/json", authorization: `Bearer ${login.token}` };
  await fetch(`${url}/api/tokens/add`, { method: "POST", headers: admin, body: JSON.stringify({ tokens: fake.accounts.map((a) => a.sso), token_type: "ssoSuper" }) });
  const setGrok = async (values: Record<string, unknown>) => {
    const r = await fetch(`${url}/api/settings`, { method: "POST", headers: admin, body: JSON.stringify({ grok_config: values }) });
    if (r.status !== 200) throw new Error(`settings: ${r.status} ${await r.text()}`);
  };
  await setGrok({ keepalive_interval: 60, ...opts.settings });
  return {
    url,
    pid: child.pid!,
    admin,
    heapAfterGc: async () => {
      const before = existsSync(heapFile) ? readFileSync(heapFile, "utf8") : "";
      child.kill("SIGUSR2");
      for (let i = 0; i < 500; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const now = existsSync(heapFile) ? readFileSync(heapFile, "utf8") : "";
        if (now.length > before.length) return Number(now.trim().split("\n").at(-1));
      }
      throw new Error("the proxy did not report its heap (started without heap: true?)");
    },
    setGrok,
    stats: async () => ((await (await fetch(`${url}/api/stats`, { headers: admin })).json()) as { data: Awaited<ReturnType<Proxy["stats"]>> }).data,
    health: async () => (await (await fetch(`${url}/api/health`, { headers: admin })).json()) as Awaited<ReturnType<Proxy["health"]>>,
  };
}

export async function stopAll(): Promise<void> {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await agent.close();
}

// ------------------------------------------------------------------ one call = { ttfb, total, bytes, text ok }

export interface Timing {
  /** ms from sending to the first byte of answer text (metadata frames not counted). */
  ttfb: number;
  total: number;
  bytes: number;
}

/** Reads a body to the end; `first` finds the first answer text in a chunk; `done` (optional) must have been seen. */
async function readBody(body: AsyncIterable<Uint8Array>, t0: number, first: string, done?: string): Promise<Timing> {
  let ttfb = -1;
  let bytes = 0;
  let sawDone = done === undefined;
  let carry = "";
  for await (const chunk of body) {
    bytes += chunk.length;
    if (ttfb < 0 || !sawDone) {
      const s = carry + Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1");
      if (ttfb < 0 && s.includes(first)) ttfb = performance.now() - t0;
      if (!sawDone && s.includes(done!)) sawDone = true;
      carry = s.slice(-64);
    }
  }
  if (ttfb < 0) throw new Error(`no answer text (${first}) in the response`);
  if (!sawDone) throw new Error(`the response did not end with ${done}`);
  return { ttfb, total: performance.now() - t0, bytes };
}

const CHAT_BODY = (stream: boolean, prompt = "bench") => JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: prompt }], stream });

/** One streaming chat through the proxy; the stream must end with [DONE]. */
export async function viaProxy(proxyUrl: string, signal?: AbortSignal): Promise<Timing> {
  const t0 = performance.now();
  const res = await request(`${proxyUrl}/v1/chat/completions`, { method: "POST", dispatcher: agent, headers: { "content-type": "application/json" }, body: CHAT_BODY(true), ...(signal ? { signal } : {}) });
  if (res.statusCode !== 200) throw new Error(`proxy HTTP ${res.statusCode}: ${await res.body.text()}`);
  return readBody(res.body, t0, '"content":"word', "data: [DONE]");
}

/** The REST chat call the proxy makes, for a direct baseline (also used by proxy-overhead.ts). */
export function directRestInit(fake: Pick<Fake, "url" | "accounts">, i: number) {
  const acc = fake.accounts[i % fake.accounts.length]!;
  return {
    url: `${fake.url}/rest/app-chat/conversations/new`,
    headers: {
      "content-type": "application/json",
      origin: fake.url,
      referer: `${fake.url}/`,
      cookie: `sso=${acc.sso}; sso-rw=${acc.sso}`,
      "x-xai-request-id": randomUUID(),
      "x-statsig-id": Buffer.from("x1:TypeError: Cannot read properties of undefined (reading 'abcdefghij')").toString("base64"),
      "user-agent": "bench",
    },
    body: JSON.stringify({ message: "bench", modeId: "fast", temporary: true, fileAttachments: [], disableSearch: false, enableImageGeneration: false }),
  };
}

/** A direct REST chat over undici (no proxy). */
export async function directUndici(fake: Fake, i: number): Promise<Timing> {
  const { url, headers, body } = directRestInit(fake, i);
  const t0 = performance.now();
  const res = await request(url, { method: "POST", dispatcher: agent, headers, body });
  if (res.statusCode !== 200) throw new Error(`fake HTTP ${res.statusCode}`);
  return readBody(res.body, t0, '"token":"word', '"modelResponse"');
}

let impitClient: Impit | null = null;
/** A direct REST chat over impit (the proxy's default transport, no proxy): impit's own cost. */
export async function directImpit(fake: Fake, i: number): Promise<Timing> {
  impitClient ??= new Impit({ browser: "chrome142", timeout: 86_400_000 });
  const { url, headers, body } = directRestInit(fake, i);
  const t0 = performance.now();
  const res = await impitClient.fetch(url, { method: "POST", headers, body });
  if (res.status !== 200) throw new Error(`fake HTTP ${res.status}`);
  const reader = res.body!.getReader();
  const iter = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        yield value as Uint8Array;
      }
    },
  };
  return readBody(iter, t0, '"token":"word', '"modelResponse"');
}

const GW_REQ: GrokChatRequest = { mode: "fast", message: "bench", fileIds: [], temporary: true, disableSearch: false, enableImageGeneration: false, imageGenerationCount: 2 };

/** A direct gateway chat over ws (session.create, attach, item, frames until response.done), no proxy. */
export function directGateway(fake: Fake, i: number): Promise<Timing> {
  const acc = fake.accounts[i % fake.accounts.length]!;
  const t0 = performance.now();
  const ws = new WebSocket(`${fake.url.replace(/^http/, "ws")}/ws/mgw/?uid=${acc.userId}`, {
    headers: websocketHeaders({ origin: fake.url, userAgent: "bench", cfClearance: "", acceptEncoding: "gzip" }, acc.sso, acc.userId),
  });
  const initId = `evt_init_${randomUUID()}`;
  return new Promise<Timing>((resolve, reject) => {
    let ttfb = -1;
    let bytes = 0;
    let sessionId: string | null = null;
    let attached = false;
    let sent = false;
    ws.on("open", () => ws.send(JSON.stringify(sessionCreateEvent(GW_REQ, initId))));
    ws.on("message", (data: Buffer) => {
      bytes += data.length;
      const s = data.toString("latin1");
      if (sessionId === null && s.includes('"session.created"')) sessionId = (JSON.parse(s) as { session_id: string }).session_id;
      else if (!attached && s.includes('"conversation.attached"')) attached = true;
      if (ttfb < 0 && s.includes('"text":"word')) ttfb = performance.now() - t0;
      if (!sent && sessionId && attached) {
        sent = true;
        for (const m of itemEvents(GW_REQ, sessionId)) ws.send(JSON.stringify(m));
      }
      if (s.includes('"response.done"')) {
        ws.close(1000);
        if (ttfb < 0) reject(new Error("gateway turn without answer text"));
        else resolve({ ttfb, total: performance.now() - t0, bytes });
      }
    });
    ws.on("error", reject);
    ws.on("close", () => reject(new Error("gateway closed before response.done")));
  });
}

// ------------------------------------------------------------------ figures

export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** utime + stime of a process in ms (from /proc/<pid>/stat). */
export function cpuMsOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // fields 14, 15 (1-based), in clock ticks (100 Hz)
}

export function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
}

/** n concurrent calls, `rounds` times; answer characters per second and every call's timing. */
export async function concurrent(n: number, rounds: number, call: (i: number) => Promise<Timing>, chars: number): Promise<{ charsPerSec: number; timings: Timing[] }> {
  const timings: Timing[] = [];
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) timings.push(...(await Promise.all(Array.from({ length: n }, (_, i) => call(r * n + i)))));
  return { charsPerSec: (n * rounds * chars) / ((performance.now() - t0) / 1000), timings };
}

export const ms = (x: number) => x.toFixed(2);
export const ratio = (a: number, b: number) => (a / b).toFixed(2);
/** "figure vs target: PASS/MISS" (a report line only: benchmarks never fail on timings). */
export const verdict = (ok: boolean) => (ok ? "meets target" : "MISSES target");
