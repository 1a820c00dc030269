import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redactUrl } from "../../src/server/log.js";
import { startStack, waitFor, type Stack } from "../support/stack.js";
import { captureLog, JSON_HEADERS, raw, startTarget } from "./support.js";

/** Errors and logs (issue 6): no URL credentials, no internal messages to clients, client aborts at debug. */
let stack: Stack;
let logged: string[];
let token: string;
beforeAll(async () => {
  const { log, lines } = captureLog();
  logged = lines;
  stack = await startStack({ accounts: 1, log, transport: "fetch" });
  token = await stack.adminToken();
});
afterAll(async () => stack?.close());

const SECRET = "hunter2-secret";
const saveGrok = (grok: Record<string, unknown>) => raw(stack.url, "/api/settings", { headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` }, body: JSON.stringify({ grok_config: grok }) });

describe("proxy_url", () => {
  it("is validated when saved, and the answer never repeats its credentials", async () => {
    for (const bad of [`ftp://bob:${SECRET}@proxy.example:21`, `socks5://bob:${SECRET}@proxy.example:1080/path`, `bob:${SECRET}@proxy.example:3128`, `http://bob:${SECRET}@proxy.example:99999`, "not a url"]) {
      const res = await saveGrok({ proxy_url: bad });
      expect(res.status, bad).toBe(400);
      expect(res.json.message).toMatch(/grok\.proxy_url/);
      expect(res.body).not.toContain(SECRET);
    }
    expect((await saveGrok({ cache_proxy_url: `gopher://x:${SECRET}@h:70` })).status).toBe(400);
    for (const good of ["", "http://proxy.example:3128", "https://u:p@proxy.example:443", "socks4://h:1080", "socks5://u:p@[::1]:1080", "socks5h://h:1080"]) expect((await saveGrok({ proxy_url: good })).status, good).toBe(200);
  });

  it("never comes back with its password in an upstream error or a log line", async () => {
    expect((await saveGrok({ proxy_url: `http://bob:${SECRET}@127.0.0.1:1` })).status).toBe(200); // a closed loopback port
    try {
      const res = await raw(stack.url, "/v1/chat/completions", { headers: JSON_HEADERS, body: JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: "hi" }] }) });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.body).not.toContain(SECRET);
      const detail = await raw(stack.url, `/api/tokens/test`, { headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` }, body: JSON.stringify({ token: stack.accounts[0]!.sso }) });
      expect(detail.body).not.toContain(SECRET);
    } finally {
      await saveGrok({ proxy_url: "" });
    }
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.filter((l) => l.includes(SECRET))).toEqual([]);
  });

  it("is stripped from any URL in an error message, whatever produced it", async () => {
    // an upstream service echoing a proxy URL with its password (here: the statsig signer)
    const target = await startTarget("127.0.0.1");
    const echo = `the proxy http://bob:${SECRET}@10.1.2.3:3128 refused the connection`;
    expect((await saveGrok({ chat_transport: "rest", statsig_mode: "signed", statsig_signer_url: `${target.url}/fail500?body=${encodeURIComponent(echo)}` })).status).toBe(200);
    try {
      const res = await raw(stack.url, "/v1/chat/completions", { headers: JSON_HEADERS, body: JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: "hi" }] }) });
      expect(target.hits.length).toBeGreaterThan(0);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.body).toContain("http://***@10.1.2.3:3128"); // the message is kept, the secret is not
      expect(res.body).not.toContain(SECRET);
    } finally {
      await saveGrok({ chat_transport: "gateway", statsig_mode: "dynamic", statsig_signer_url: "" });
      await target.close();
    }
    expect(logged.filter((l) => l.includes(SECRET))).toEqual([]);
  });

  it("redacts user and password from any URL in a text", () => {
    expect(redactUrl(`connect to socks5://bob:${SECRET}@proxy:1080 failed`)).toBe("connect to socks5://***@proxy:1080 failed");
    expect(redactUrl(`bad "http://u:p@ss@h:1"`)).toBe('bad "http://***@h:1"');
    expect(redactUrl(`bob:${SECRET}@proxy.example:3128 refused`)).toBe("***@proxy.example:3128 refused");
    expect(redactUrl("mail admin@example.com, see http://h/a@b")).toBe("mail admin@example.com, see http://h/a@b");
  });
});

describe("internal errors under /api", () => {
  it("answer a generic message; the detail stays in the log", async () => {
    const pool = stack.server.deps.pool;
    const original = pool.list.bind(pool);
    pool.list = () => {
      throw new Error("disk /var/lib/very-internal-path exploded");
    };
    try {
      const res = await raw(stack.url, "/api/tokens", { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(500);
      expect(res.json).toMatchObject({ success: false, message: "Internal error", error: { message: "Internal error" } });
      expect(res.body).not.toContain("very-internal-path");
    } finally {
      pool.list = original;
    }
    expect(logged.some((l) => / ERROR /.test(l) && l.includes("very-internal-path"))).toBe(true);
  });
});

describe("client aborts", () => {
  it("are logged at debug, not as errors", async () => {
    const before = logged.length;
    await new Promise<void>((resolve) => {
      const s = connect(Number(new URL(stack.url).port), "127.0.0.1", () => {
        s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: ${new URL(stack.url).host}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"model":"grok-chat-fast",`);
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 100);
      });
    });
    await waitFor(() => logged.slice(before).some((l) => l.includes("client went away")));
    const mine = logged.slice(before);
    expect(mine.find((l) => l.includes("client went away"))).toMatch(/ DEBUG /);
    expect(mine.filter((l) => / (ERROR|WARN) /.test(l))).toEqual([]);
  });
});
