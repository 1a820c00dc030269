import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUCKET_MS, RequestLog, type RequestLogOptions } from "../../src/server/observe/request-log.js";
import type { RequestLogEntry } from "../../src/shared/admin-api.js";
import { startStack, type Stack } from "../support/stack.js";

function makeLog(over: Partial<RequestLogOptions> = {}, clock = { t: 1_700_000_000_000 }) {
  const log = new RequestLog({ capacity: () => 3, retentionHours: () => 1, includePrompts: () => false, now: () => clock.t, ...over });
  return { log, clock };
}

describe("RequestLog", () => {
  it("files one entry per request with its steps, status and duration; the ring keeps the newest", () => {
    const { log, clock } = makeLog();
    const seen: RequestLogEntry[] = [];
    log.subscribe((e) => seen.push(e));
    for (let i = 1; i <= 4; i++) {
      const tr = log.begin(`req_${i}`, { protocol: "openai", path: "/v1/chat/completions" });
      tr.turn({ model: "grok-4.5", servedModel: "grok-chat-auto", stream: i % 2 === 0, prompt: () => "secret prompt" });
      log.attempt(`req_${i}`, { account: "eyJhbG…aaaa", outcome: "rate_limited", message: "429 from socks5://bob:pw@proxy:1080" });
      log.attempt(`req_${i}`, { account: "eyJhbG…bbbb", outcome: "ok", message: null });
      clock.t += 25;
      tr.end(200);
      tr.end(500); // later calls are ignored
    }
    const list = log.list();
    expect(list.map((e) => e.id)).toEqual(["req_4", "req_3", "req_2"]); // newest first, capacity 3
    expect(list[0]).toMatchObject({ protocol: "openai", model: "grok-4.5", served_model: "grok-chat-auto", stream: true, account: "eyJhbG…bbbb", status: 200, duration_ms: 25, error: null });
    expect(list[0]!.attempts).toEqual([
      { account: "eyJhbG…aaaa", outcome: "rate_limited", message: "429 from socks5://***@proxy:1080" },
      { account: "eyJhbG…bbbb", outcome: "ok", message: null },
    ]);
    expect(list[0]!.prompt).toBeUndefined(); // no prompt text unless the setting says so
    expect(seen).toHaveLength(4);
    expect(log.list({ limit: 1 }).map((e) => e.id)).toEqual(["req_4"]);
    expect(log.list({ before: list[1]!.time }).map((e) => e.id)).toEqual(["req_2"]);
  });

  it("keeps clipped prompt text only while request_log_prompts is on", () => {
    let on = true;
    const { log } = makeLog({ includePrompts: () => on });
    const a = log.begin("a", { protocol: "anthropic", path: "/v1/messages" });
    a.turn({ model: "claude-x", servedModel: "grok-chat-auto", stream: false, prompt: () => "x".repeat(5000) });
    a.end(200);
    on = false;
    const b = log.begin("b", { protocol: "anthropic", path: "/v1/messages" });
    b.turn({ model: "claude-x", servedModel: "grok-chat-auto", stream: false, prompt: () => "never kept" });
    b.end(200);
    const [eb, ea] = log.list();
    expect(ea!.prompt!.length).toBe(4001); // 4000 + "…"
    expect(eb!.prompt).toBeUndefined();
  });

  it("counts requests and errors per 10 minutes (also past the ring), and remembers upstream health", () => {
    const { log, clock } = makeLog({ capacity: () => 0 });
    clock.t = Math.floor(clock.t / BUCKET_MS) * BUCKET_MS;
    const run = (status: number, inBand = false) => {
      const tr = log.begin(`r${Math.random()}`, { protocol: "openai", path: "/v1/chat/completions" });
      if (inBand) tr.inBand({ code: "upstream_error", message: "stream broke" });
      tr.end(status, status >= 400 ? { code: "no_account", message: "every account cooling" } : null);
    };
    run(200);
    run(429);
    clock.t += BUCKET_MS;
    run(200, true); // in-band failure after output began: an error too
    log.attempt("unknown-request", { account: "x", outcome: "cloudflare", message: "blocked" });
    const a = log.activity(1);
    expect(a.buckets).toHaveLength(6);
    expect(a.buckets.slice(-2).map((b) => [b.requests, b.errors])).toEqual([
      [2, 1],
      [1, 1],
    ]);
    expect(a.last_failure).toMatchObject({ kind: "cloudflare", message: "blocked" });
    expect(log.list()).toEqual([]); // capacity 0 keeps no entries
  });

  it("notes a wait for a free account", () => {
    const { log } = makeLog();
    const tr = log.begin("q", { protocol: "openai", path: "/v1/chat/completions" });
    log.queue("q", { outcome: "granted", waitedMs: 812.4 });
    log.queue("not-traced", { outcome: "timeout", waitedMs: 1 });
    tr.end(200);
    expect(log.list()[0]!.queue).toEqual({ outcome: "granted", waited_ms: 812 });
  });

  it("drops entries past retention", () => {
    const { log, clock } = makeLog({ capacity: () => 10 });
    log.begin("old", { protocol: "openai", path: "/x" }).end(200);
    clock.t += 2 * 3_600_000;
    log.begin("new", { protocol: "openai", path: "/x" }).end(200);
    expect(log.list().map((e) => e.id)).toEqual(["new"]);
  });

  it("writes a rotated JSONL file in the data folder and reads it back after a restart", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "g2a-rlog-"));
    try {
      const opts = { capacity: () => 100, retentionHours: () => 24, includePrompts: () => false, fileEnabled: () => true, dir, maxFileBytes: 1200, keepFiles: 2 };
      const log = new RequestLog(opts);
      for (let i = 0; i < 12; i++) log.begin(`req_${i}`, { protocol: "openai", path: "/v1/chat/completions" }).end(200);
      await log.flush();
      const names = readdirSync(dir).sort();
      expect(names).toEqual(["requests.1.jsonl", "requests.2.jsonl", "requests.jsonl"]);
      for (const n of names) expect(readFileSync(path.join(dir, n), "utf8").length).toBeLessThanOrEqual(1200);
      const last = readFileSync(path.join(dir, "requests.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l).id);
      expect(last.at(-1)).toBe("req_11");

      const again = new RequestLog(opts);
      const n = await again.restore();
      expect(n).toBe(last.length);
      expect(again.list()[0]!.id).toBe("req_11");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("request log through the server", () => {
  let stack: Stack;
  let token: string;
  beforeAll(async () => {
    stack = await startStack({ accounts: 2, transport: "fetch" });
    token = await stack.adminToken();
  });
  afterAll(() => stack?.close());
  const get = async (p: string) => (await fetch(`${stack.url}${p}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json())) as any;

  it("records OpenAI and Anthropic requests, failures included, behind the admin session; streams new ones", async () => {
    expect((await fetch(`${stack.url}/api/logs`)).status).toBe(401);
    expect((await fetch(`${stack.url}/api/logs/stream`)).status).toBe(401);

    const ctrl = new AbortController();
    const res = await fetch(`${stack.url}/api/logs/stream`, { headers: { authorization: `Bearer ${token}` }, signal: ctrl.signal });
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let streamed = "";
    const readUntil = async (needle: string) => {
      while (!streamed.includes(needle)) streamed += (await reader.read()).value ?? "";
    };

    await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: [{ role: "user", content: "a private question" }] });
    await readUntil("event: entry");
    await fetch(`${stack.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": "k", "anthropic-version": "2023-06-01" }, body: JSON.stringify({ model: "claude-sonnet-4", max_tokens: 50, messages: [{ role: "user", content: "hi" }], stream: true }) }).then((r) => r.text());
    await stack.openai.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }).catch(() => {});
    await readUntil("model_not_found");
    ctrl.abort();

    const page = (await get("/api/logs")).data;
    expect(page).toMatchObject({ capacity: 1000, retention_hours: 24, file: null, prompts: false });
    const [bad, anth, chat] = page.entries;
    expect(chat).toMatchObject({ protocol: "openai", path: "/v1/chat/completions", model: "grok-chat-fast", served_model: "grok-chat-fast", stream: false, status: 200, error: null });
    expect(chat.account).toMatch(/^.{6}….{4}$/);
    expect(chat.attempts).toEqual([{ account: chat.account, outcome: "ok", message: null }]);
    expect(anth).toMatchObject({ protocol: "anthropic", model: "claude-sonnet-4", stream: true, status: 200 });
    expect(bad).toMatchObject({ protocol: "openai", model: null, status: 404, error: { code: "model_not_found" } });
    expect(JSON.stringify(page)).not.toContain("a private question");
    for (const acc of stack.accounts) expect(JSON.stringify(page)).not.toContain(acc.sso);

    const act = (await get("/api/logs/activity?hours=1")).data;
    expect(act.buckets.reduce((n: number, b: { requests: number }) => n + b.requests, 0)).toBe(3);
    expect(act.buckets.reduce((n: number, b: { errors: number }) => n + b.errors, 0)).toBe(1);
    expect(act.last_ok_at).toBeGreaterThan(0);
  });

  it("shows the failover steps: a rate-limited account, then the one that answered", async () => {
    stack.fake.queue("*", "http-429");
    const r = await stack.openai.chat.completions.create({ model: "grok-chat-fast", messages: [{ role: "user", content: "x" }] });
    expect(r.choices[0]!.message.content).toBeTruthy();
    const e = (await get("/api/logs?limit=1")).data.entries[0];
    expect(e.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["rate_limited", "ok"]);
    expect(e.attempts[0].account).not.toBe(e.attempts[1].account);
    expect(e.account).toBe(e.attempts[1].account);
    expect(e.status).toBe(200);
  });

  it("the settings schema route describes every field with its default; validate reports without saving", async () => {
    const s = (await get("/api/settings/schema")).data;
    expect(s.grok.find((f: { name: string }) => f.name === "stream_chunk_timeout")).toEqual({ name: "stream_chunk_timeout", kind: "number", min: 1, max: 3600, int: false, default: 120 });
    expect(s.global.find((f: { name: string }) => f.name === "request_log_prompts")).toEqual({ name: "request_log_prompts", kind: "boolean", default: false });
    const v = await fetch(`${stack.url}/api/settings/validate`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ grok_config: { stream_chunk_timeout: 99999, proxy_url: "ftp://x" }, global_config: { admin_password: "short" } }) }).then((r) => r.json() as Promise<any>);
    expect(v.data.valid).toBe(false);
    expect(v.data.issues.map((i: { field: string }) => i.field).sort()).toEqual(["global.admin_password", "grok.proxy_url", "grok.stream_chunk_timeout"]);
    expect((await get("/api/settings")).data.grok.stream_chunk_timeout).toBe(120);
    expect((await get("/api/session")).data).toEqual({ signed_in: true });
    expect(((await fetch(`${stack.url}/api/session`).then((r) => r.json())) as any).data).toEqual({ signed_in: false });
  });
});
