import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { request } from "node:http";
import type { FakeAccount, FakeGrok } from "./index.js";
import { DEFAULT_TEXT, USAGE_LIMIT_MESSAGE, startFakeGrok } from "./index.js";
import { chatBody, frames, newChat, parseObjects, readAll, restHeaders } from "./test-helpers.js";

let fake: FakeGrok;
let acc: FakeAccount;

beforeAll(async () => {
  fake = await startFakeGrok();
  acc = fake.addAccount({ tier: "super" });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const resp = (f: any) => f.result?.response ?? {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(pred: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await sleep(10);
  }
}

/** Raw node:http request that collects body chunks until end/close/error (fetch hides resets). */
function rawChat(body: unknown, timeoutMs = 1500): Promise<{ status: number; data: string; error?: string; ended: boolean }> {
  const u = new URL(fake.url);
  return new Promise((resolve) => {
    const out = { status: 0, data: "", ended: false } as { status: number; data: string; error?: string; ended: boolean };
    const t = setTimeout(() => {
      req.destroy();
      resolve(out);
    }, timeoutMs);
    const finish = (error?: string) => {
      clearTimeout(t);
      if (error) out.error = error;
      resolve(out);
    };
    const req = request({ host: u.hostname, port: u.port, path: "/rest/app-chat/conversations/new", method: "POST", headers: restHeaders(fake, acc) }, (res) => {
      out.status = res.statusCode!;
      res.on("data", (c: Buffer) => (out.data += c.toString()));
      res.on("end", () => {
        out.ended = true;
        finish();
      });
      res.on("error", (e) => finish((e as NodeJS.ErrnoException).code ?? e.message));
    });
    req.on("error", (e) => finish((e as NodeJS.ErrnoException).code ?? e.message));
    req.end(JSON.stringify(body));
  });
}

describe("REST HTTP failure scenarios (§12.2)", () => {
  it("http-429: code 8 body, optional Retry-After", async () => {
    fake.queue(acc.sso, "http-429", { name: "http-429", retryAfterSeconds: 30 });
    const a = await newChat(fake, acc);
    expect(a.status).toBe(429);
    expect(a.headers.get("retry-after")).toBeNull();
    expect(await a.json()).toEqual({ error: { code: 8, message: "Too many requests", details: [] } });
    const b = await newChat(fake, acc);
    expect(b.headers.get("retry-after")).toBe("30");
    await b.text();
    expect(fake.chatRequests().map((r) => r.scenario)).toEqual(["http-429", "http-429"]);
  });

  it("http-401: code 16", async () => {
    fake.queue(acc.sso, "http-401");
    const r = await newChat(fake, acc);
    expect(r.status).toBe(401);
    expect(await r.json()).toEqual({ error: { code: 16, message: "Bad credentials", details: [] } });
  });

  it("403-html: Cloudflare challenge with Server: cloudflare and CF-Ray", async () => {
    fake.queue(acc.sso, "403-html");
    const r = await newChat(fake, acc);
    expect(r.status).toBe(403);
    expect(r.headers.get("content-type")).toMatch(/^text\/html/);
    expect(r.headers.get("server")).toBe("cloudflare");
    expect(r.headers.get("cf-ray")).toMatch(/^[0-9a-f]{16}-[A-Z]{3}$/);
    const html = await r.text();
    expect(html).toContain("<title>Just a moment...</title>");
    expect(html).toContain("window._cf_chl_opt");
    expect(html).toContain("/cdn-cgi/challenge-platform/");
  });

  it("403-empty, 403-json-code7, 403-blocked, http-500", async () => {
    fake.queue(acc.sso, "403-empty", "403-json-code7", "403-blocked", "http-500");
    const empty = await newChat(fake, acc);
    expect(empty.status).toBe(403);
    expect(await empty.text()).toBe("");
    const code7 = await newChat(fake, acc);
    expect(code7.status).toBe(403);
    expect(await code7.json()).toEqual({ error: { code: 7, message: "Request rejected by anti-bot rules.", details: [] } });
    const blocked = await newChat(fake, acc);
    expect(blocked.status).toBe(403);
    expect(await blocked.json()).toEqual({ code: 7, message: "User is blocked [WKE=unauthorized:blocked-user]", details: [] });
    const e500 = await newChat(fake, acc);
    expect(e500.status).toBe(500);
    expect((await e500.json()).error.code).toBe(13);
  });

  it("conversation-not-found: 404 code 5", async () => {
    fake.queue(acc.sso, "conversation-not-found");
    const r = await newChat(fake, acc);
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: { code: 5, message: "Conversation not found", details: [] } });
  });
});

describe("REST in-stream failures", () => {
  it("in-stream-rate-limit and 403-json-code7-in-stream: 200 with an error object as the first line", async () => {
    fake.queue(acc.sso, "in-stream-rate-limit", "403-json-code7-in-stream");
    const a = await newChat(fake, acc);
    expect(a.status).toBe(200);
    expect((await readAll(a)).text).toBe('{"error":{"code":8,"message":"Too many requests","details":[]}}\n');
    const b = await newChat(fake, acc);
    expect((await readAll(b)).text).toBe('{"error":{"code":7,"message":"Request rejected by anti-bot rules.","details":[]}}\n');
  });

  it("usage-limit: result.response.error mid-stream with systemErrCode rate_limit", async () => {
    fake.queue(acc.sso, "usage-limit");
    const fr = await frames(await newChat(fake, acc));
    expect(fr[0].result.conversation).toBeTruthy();
    const last = fr.at(-1);
    expect(resp(last).error.message).toBe(USAGE_LIMIT_MESSAGE);
    expect(JSON.parse(resp(last).cardAttachment.jsonData).image_chunk.systemErrCode).toBe("rate_limit");
  });

  it("stream-errors / status-not-completed: modelResponse.streamErrors", async () => {
    fake.queue(acc.sso, "stream-errors", "status-not-completed");
    for (let i = 0; i < 2; i++) {
      const fr = await frames(await newChat(fake, acc));
      const m = resp(fr.at(-1)).modelResponse;
      expect(m.message).toBe("");
      expect(m.streamErrors).toEqual([{ message: "Model overloaded", code: 14 }]);
    }
  });

  it("empty-success: conversation and soft stop, no tokens", async () => {
    fake.queue(acc.sso, "empty-success");
    const fr = await frames(await newChat(fake, acc));
    expect(fr.some((f) => resp(f).isSoftStop === true)).toBe(true);
    expect(fr.filter((f) => typeof resp(f).token === "string" && resp(f).token !== "")).toEqual([]);
    expect(resp(fr.at(-1)).modelResponse.message).toBe("");
  });

  it("session-ended: the body ends cleanly after the first token, without modelResponse", async () => {
    fake.queue(acc.sso, "session-ended");
    const fr = await frames(await newChat(fake, acc));
    expect(resp(fr.at(-1)).token).toBe("Hi");
    expect(fr.some((f) => resp(f).modelResponse)).toBe(false);
  });
});

describe("REST connection-level failures", () => {
  it("dropped: half an object, then a TCP reset", async () => {
    fake.queue(acc.sso, "dropped");
    const r = await rawChat(chatBody("x"));
    expect(r.status).toBe(200);
    expect(r.ended).toBe(false);
    expect(r.error).toBeTruthy();
    const lines = r.data.split("\n");
    expect(parseObjects(r.data).map((f) => resp(f).token).filter(Boolean)).toEqual(["Hi"]);
    const tail = lines.at(-1)!;
    expect(tail.startsWith("{")).toBe(true);
    expect(() => JSON.parse(tail)).toThrow();
    await expect(newChat(fake, acc, "#scenario:dropped").then((res) => res.text())).rejects.toThrow();
  });

  it("stalled: N frames then silence until the client leaves (recorded as clientClosedEarly)", async () => {
    fake.queue(acc.sso, { name: "stalled", stallAfterFrames: 3 });
    const res = await newChat(fake, acc);
    const reader = res.body!.getReader();
    let got = "";
    const started = Date.now();
    while (parseObjects(got).length < 3) got += new TextDecoder().decode((await reader.read()).value);
    const more = await Promise.race([reader.read().then(() => "data"), sleep(300).then(() => "silence")]);
    expect(more).toBe("silence");
    expect(parseObjects(got)).toHaveLength(3);
    expect(fake.openConnections()).toBe(1);
    await reader.cancel();
    await waitFor(() => fake.openConnections() === 0);
    expect(fake.chatRequests().at(-1)!.clientClosedEarly).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it("stalled default: conversation + userResponse then silence; stalled-after-first stops after the first token", async () => {
    fake.queue(acc.sso, "stalled", "stalled-after-first");
    const a = await rawChat(chatBody("x"), 300);
    expect(a.ended).toBe(false);
    expect(parseObjects(a.data)).toHaveLength(2);
    const b = await rawChat(chatBody("x"), 300);
    const fb = parseObjects(b.data);
    expect(resp(fb.at(-1)).token).toBe("Hi");
    expect(b.ended).toBe(false);
    await waitFor(() => fake.openConnections() === 0);
  });

  it("a client abort mid-stream of a slow turn is recorded", async () => {
    fake.queue(acc.sso, { name: "slow", delayMs: 100 });
    const ctrl = new AbortController();
    const res = await fetch(`${fake.url}/rest/app-chat/conversations/new`, { method: "POST", headers: restHeaders(fake, acc), body: JSON.stringify(chatBody("x")), signal: ctrl.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ctrl.abort();
    await waitFor(() => fake.chatRequests().at(-1)!.clientClosedEarly === true);
    await waitFor(() => fake.openConnections() === 0);
  });

  it("a usage-limit is what an exhausted mode answers, without queueing anything", async () => {
    const a = fake.addAccount({ tier: "basic" });
    fake.setQuota(a.sso, "fast", { remaining: 1 });
    const ok = await frames(await newChat(fake, a));
    expect(ok.map((f) => resp(f).token).join("")).toBe(DEFAULT_TEXT);
    const limited = await frames(await newChat(fake, a));
    expect(resp(limited.at(-1)).error.message).toBe(USAGE_LIMIT_MESSAGE);
    expect(fake.chatRequests().at(-1)!.scenario).toBe("text");
  });
});
