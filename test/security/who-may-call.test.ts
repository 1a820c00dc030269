import { readFileSync } from "node:fs";
import { connect } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSse, startStack, type Stack } from "../support/stack.js";
import { JSON_HEADERS, raw } from "./support.js";

/**
 * Who may call the server (issue 6): Host header, Content-Type, CORS and cross-site refusals,
 * body limits, the large-body cap and the request timeouts, against the real server on loopback
 * with no API key configured (the desktop default, where these guards are all there is).
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ accounts: 1 });
});
afterAll(async () => stack?.close());

const chat = JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: "hi" }] });
const hostOf = () => new URL(stack.url).host;
const models = (host: string) => raw(stack.url, "/v1/models", { headers: { host } });

describe("Host header (DNS rebinding)", () => {
  it("serves only real loopback names", async () => {
    for (const host of ["127.attacker.example:8000", "127.0.0.1.nip.io", "127.0.0.1.nip.io:8000", "localhost.evil.example", "evil.example", "0.0.0.0:8000", "[::2]:8000"])
      expect((await models(host)).status, host).toBe(403);
    for (const host of ["localhost", "localhost:8000", "LOCALHOST.", "127.0.0.1", "127.0.0.2:1234", "127.255.255.254", "[::1]:8000", hostOf()]) expect((await models(host)).status, host).toBe(200);
  });

  it("also serves the configured base_url host", async () => {
    expect((await models("g2a.example.org")).status).toBe(403);
    await stack.server.deps.settings.update({ global: { base_url: "https://g2a.example.org" } });
    try {
      expect((await models("g2a.example.org")).status).toBe(200);
      expect((await models("other.example.org")).status).toBe(403);
    } finally {
      await stack.server.deps.settings.update({ global: { base_url: "" } });
    }
  });
});

describe("Content-Type", () => {
  it("takes JSON bodies only as JSON (or with no Content-Type); a form or text body is a 415", async () => {
    const before = stack.fake.chatRequests().length;
    for (const type of ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const res = await raw(stack.url, "/v1/chat/completions", { headers: { "content-type": type }, body: chat });
      expect(res.status, type).toBe(415);
      expect(res.json.error).toMatchObject({ code: "unsupported_media_type", param: "content-type" });
    }
    expect(stack.fake.chatRequests().length).toBe(before); // nothing reached grok
    for (const type of ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.openai+json"])
      expect((await raw(stack.url, "/v1/chat/completions", { headers: { "content-type": type }, body: chat })).status, type).toBe(200);
    expect((await raw(stack.url, "/v1/chat/completions", { headers: {}, body: chat })).status).toBe(200); // some SDKs omit it
  });

  it("answers 415 in the admin shape on /api", async () => {
    const res = await raw(stack.url, "/api/login", { headers: { "content-type": "text/plain" }, body: JSON.stringify({ username: "admin", password: "x" }) });
    expect(res.status).toBe(415);
    expect(res.json).toMatchObject({ success: false, code: "unsupported_media_type" });
  });
});

describe("JSON nesting", () => {
  it("answers 400 naming the field for 20 000 levels in a settings value, and in a chat body", async () => {
    const token = await stack.adminToken();
    const deep = "[".repeat(20_000) + "]".repeat(20_000);
    const res = await raw(stack.url, "/api/settings", { headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` }, body: `{"grok_config":{"custom":${deep}}}` });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/deeper than 64 levels at grok_config\.custom/);
    const c = await raw(stack.url, "/v1/chat/completions", { headers: JSON_HEADERS, body: `{"model":"grok-chat-fast","messages":[{"role":"user","content":${deep}}]}` });
    expect(c.status).toBe(400);
    expect(c.json.error.param).toMatch(/^messages\[0\]\.content/);
    expect((await raw(stack.url, "/health")).status).toBe(200); // and the process is fine
  });

  it("survives 20 000 levels inside a tool call's arguments string (JSON inside JSON)", async () => {
    const deep = "[".repeat(20_000) + "]".repeat(20_000);
    const body = {
      model: "grok-chat-fast",
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: `{"a":${deep}}` } }] },
        { role: "tool", tool_call_id: "c1", content: "ok" },
      ],
    };
    const res = await raw(stack.url, "/v1/chat/completions", { headers: JSON_HEADERS, body: JSON.stringify(body) });
    expect(res.status).toBeLessThan(500); // never "Maximum call stack size exceeded"
    expect(res.body).not.toMatch(/call stack/i);
    expect((await raw(stack.url, "/health")).status).toBe(200);
  });
});

describe("CORS without an API key", () => {
  const preflight = (origin: string, p = "/v1/chat/completions") =>
    raw(stack.url, p, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type, authorization" } });

  it("grants loopback origins their own origin, never *", async () => {
    for (const origin of ["http://localhost:3000", "http://127.0.0.1:5173", "https://[::1]:8443"]) {
      const res = await preflight(origin);
      expect(res.status, origin).toBe(204);
      expect(res.headers["access-control-allow-origin"]).toBe(origin);
      expect(res.headers["access-control-allow-headers"]).toBe("content-type, authorization");
      expect(res.headers.vary).toMatch(/origin/i);
    }
    const get = await raw(stack.url, "/v1/models", { headers: { origin: "http://localhost:3000" } });
    expect(get.status).toBe(200);
    expect(get.headers["access-control-allow-origin"]).toBe("http://localhost:3000");
  });

  it("refuses other origins, also for requests a page can send without a preflight", async () => {
    const before = stack.fake.chatRequests().length;
    for (const origin of ["https://evil.example", "http://127.0.0.1.nip.io", "null"]) {
      const pre = await preflight(origin);
      expect(pre.status, origin).toBe(403);
      expect(pre.headers["access-control-allow-origin"]).toBeUndefined();
      // fetch(url, {method: "POST", body: new Blob([json])}) sends no Content-Type and no preflight
      const post = await raw(stack.url, "/v1/chat/completions", { headers: { origin }, body: chat });
      expect(post.status, origin).toBe(403);
      expect(post.headers["access-control-allow-origin"]).toBeUndefined();
    }
    const noOrigin = await raw(stack.url, "/v1/chat/completions", { headers: { "sec-fetch-site": "cross-site" }, body: chat });
    expect(noOrigin.status).toBe(403);
    expect(stack.fake.chatRequests().length).toBe(before);
  });

  it("grants the origins listed in grok.cors_allowed_origins, and refuses '*' there", async () => {
    const token = await stack.adminToken();
    const post = (grok: Record<string, unknown>) => raw(stack.url, "/api/settings", { headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` }, body: JSON.stringify({ grok_config: grok }) });
    const star = await post({ cors_allowed_origins: "https://chat.example.com, *" });
    expect(star.status).toBe(400);
    expect(star.json.message).toMatch(/grok\.cors_allowed_origins/);
    expect((await post({ cors_allowed_origins: "chat.example.com" })).status).toBe(400);
    expect((await post({ cors_allowed_origins: "https://chat.example.com, http://192.168.1.5:3000" })).status).toBe(200);
    try {
      const res = await preflight("https://chat.example.com");
      expect([res.status, res.headers["access-control-allow-origin"]]).toEqual([204, "https://chat.example.com"]);
      expect((await preflight("https://chat.example.com.evil.example")).status).toBe(403);
    } finally {
      await post({ cors_allowed_origins: "" });
    }
  });
});

describe("admin API and browsers", () => {
  it("sends no CORS grants and refuses cross-site requests before anything runs", async () => {
    const token = await stack.adminToken();
    const pre = await raw(stack.url, "/api/login", { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });
    expect(pre.status).toBe(403);
    expect(pre.headers["access-control-allow-origin"]).toBeUndefined();
    expect(pre.headers["access-control-allow-headers"]).toBeUndefined();
    const auth = { authorization: `Bearer ${token}` };
    for (const headers of [{ origin: "https://evil.example" }, { origin: "null" }, { origin: "http://localhost:3000" }, { "sec-fetch-site": "cross-site" }, { "sec-fetch-site": "same-site" }] as Array<Record<string, string>>) {
      // the routers match paths case-insensitively: so do the guards
      for (const p of ["/api/stats", "/API/stats", "/Api/Stats"]) {
        const res = await raw(stack.url, p, { headers: { ...auth, ...headers } });
        expect(res.status, `${p} ${JSON.stringify(headers)}`).toBe(403);
        if (p === "/api/stats") expect(res.json).toMatchObject({ success: false, code: "forbidden" });
      }
    }
    // the manager page's own requests
    const own = await raw(stack.url, "/api/stats", { headers: { ...auth, origin: stack.url, "sec-fetch-site": "same-origin" } });
    expect(own.status).toBe(200);
    expect(own.headers["access-control-allow-origin"]).toBeUndefined();
    expect((await raw(stack.url, "/api/stats", { headers: auth })).status).toBe(200); // curl, scripts
  });
});

describe("body limits", () => {
  it("caps login at a few KiB and admin JSON at 1 MiB, refusing a declared oversize body without reading it", async () => {
    const big = (n: number) => JSON.stringify({ username: "admin", password: "x".repeat(n) });
    expect((await raw(stack.url, "/api/login", { headers: JSON_HEADERS, body: big(5 * 1024) })).status).toBe(413);
    const token = await stack.adminToken();
    const settings = await raw(stack.url, "/api/settings", { headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` }, body: JSON.stringify({ grok_config: { note: "x".repeat(1100 * 1024) } }) });
    expect(settings.status).toBe(413);
    // chat keeps 64 MiB; a 100 MiB Content-Length is answered before a byte of body is sent
    const status = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(new URL(stack.url).port), "127.0.0.1");
      let out = "";
      s.on("data", (d) => {
        out += d.toString();
        if (out.includes("\r\n\r\n")) {
          s.destroy();
          resolve(out.split("\r\n")[0]!);
        }
      });
      s.on("error", reject);
      s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostOf()}\r\nContent-Type: application/json\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`);
    });
    expect(status).toMatch(/^HTTP\/1\.1 413/);
  });

  it("reads at most 4 bodies over 1 MiB at once; the next waits for a slot", async () => {
    const port = Number(new URL(stack.url).port);
    const size = 2 * 1024 * 1024;
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostOf()}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`;
    const body = Buffer.alloc(size, " ");
    Buffer.from('{"model":"no-such-model","messages":[{"role":"user","content":"x"}]}').copy(body);
    // four uploads that stall halfway hold the four slots
    const stalled = await Promise.all(
      Array.from({ length: 4 }, () => new Promise<import("node:net").Socket>((resolve) => {
        const s = connect(port, "127.0.0.1", () => {
          s.write(head);
          s.write(body.subarray(0, 1024 * 1024 + 1024), () => resolve(s));
        });
        s.on("error", () => {});
      })),
    );
    await new Promise((r) => setTimeout(r, 200));
    let answered = false;
    const fifth = raw(stack.url, "/v1/chat/completions", { headers: { ...JSON_HEADERS, "content-length": String(size) }, body }).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 800));
    expect(answered).toBe(false); // waiting: its body is not read while the four are
    stalled[0]!.destroy(); // one slot frees
    const res = await fifth;
    expect(res.status).toBe(404); // read and parsed: the unknown model
    for (const s of stalled) s.destroy();
  });
});

describe("request timeouts", () => {
  // A server of its own with short timeouts (the defaults are 20 s for headers, 120 s for a request).
  let quick: Stack;
  beforeAll(async () => {
    quick = await startStack({ accounts: 1, httpTimeouts: { headersMs: 600, requestMs: 1500 } });
  });
  afterAll(async () => quick?.close());
  const port = () => Number(new URL(quick.url).port);
  const rawSocket = (payload: string) =>
    new Promise<{ ms: number; out: string }>((resolve) => {
      const t0 = Date.now();
      const s = connect(port(), "127.0.0.1", () => s.write(payload));
      let out = "";
      s.on("data", (d) => (out += d.toString()));
      s.on("close", () => resolve({ ms: Date.now() - t0, out }));
      s.on("error", () => {});
    });

  it("drops a client that never finishes its headers (408) or its body", async () => {
    const host = new URL(quick.url).host;
    const headers = await rawSocket(`GET /v1/models HTTP/1.1\r\nHost: ${host}\r\n`);
    expect(headers.out).toMatch(/^HTTP\/1\.1 408/);
    expect(headers.ms).toBeLessThan(5_000);
    const body = await rawSocket(`POST /v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":`);
    expect(body.ms).toBeLessThan(8_000);
    expect(body.out).not.toMatch(/^HTTP\/1\.1 200/);
  });

  it("does not cut a stream that lasts longer than the request timeout", async () => {
    quick.fake.setDefault({ name: "slow", delayMs: 250, text: "one two three four five six seven eight nine ten eleven twelve" });
    try {
      const t0 = Date.now();
      const res = await fetch(`${quick.url}/v1/chat/completions`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ model: "grok-chat-fast", messages: [{ role: "user", content: "hi" }], stream: true }) });
      const { data } = await readSse(res);
      expect(Date.now() - t0).toBeGreaterThan(1500);
      expect(data.at(-1)).toBe("[DONE]");
    } finally {
      quick.fake.setDefault("text");
    }
  });
});

describe("Docker image", () => {
  it("runs as a non-root user that owns only the data folder", () => {
    const lines = readFileSync(path.join(import.meta.dirname, "../../Dockerfile"), "utf8").split("\n").map((l) => l.trim());
    const users = lines.map((l, i) => [l, i] as const).filter(([l]) => /^USER\s/i.test(l));
    expect(users.length).toBeGreaterThan(0);
    const [last, at] = users.at(-1)!;
    expect(last).not.toMatch(/^USER\s+(root|0)(:|$)/i);
    expect(lines.slice(at + 1).some((l) => /^(RUN|COPY|ADD)\s/i.test(l))).toBe(false); // nothing after it runs as root
    expect(lines.some((l) => /chown\s+node:node\s+\/data/.test(l))).toBe(true);
  });
});
