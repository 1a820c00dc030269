import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../support/stack.js";
import { captureLog, raw } from "./support.js";

/** Client keys (issue 6): wrong keys throttled per client, /health telling strangers only "ok". */
let stack: Stack;
let logged: string[];
beforeAll(async () => {
  const { log, lines } = captureLog();
  logged = lines;
  stack = await startStack({ accounts: 1, env: { GROK2API_API_KEY: "the-right-key" }, log });
});
afterAll(async () => stack?.close());

const models = (key: string, headers: Record<string, string> = {}) => raw(stack.url, "/v1/models", { headers: { authorization: `Bearer ${key}`, ...headers } });

describe("wrong API keys", () => {
  it("are throttled per client; a hostile page throttles only itself", async () => {
    const evil = { origin: "https://evil.example" };
    for (let i = 0; i < 10; i++) expect((await models(`guess-${i}`, evil)).status).toBe(401);
    const blocked = await models("guess-10", evil);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
    expect(blocked.json.error.code).toBe("rate_limit_exceeded");
    expect((await models("the-right-key", evil)).status).toBe(429); // that bucket waits out its minute
    expect((await models("the-right-key")).status).toBe(200); // the owner's SDK (no Origin) is not affected

    for (let i = 0; i < 10; i++) expect((await models(`other-${i}`)).status).toBe(401);
    expect((await models("the-right-key")).status).toBe(429);
    expect((await raw(stack.url, "/v1/models", { headers: { "x-api-key": "nope" } })).status).toBe(429);
    expect(logged.filter((l) => l.includes("wrong API keys throttled"))).toHaveLength(2); // once per bucket and window
    expect(logged.some((l) => l.includes("the-right-key"))).toBe(false);
  });
});

describe("/health", () => {
  it("answers only {status: ok} without the key or a session, the details with either", async () => {
    const anon = await raw(stack.url, "/health");
    expect(anon.json).toEqual({ status: "ok" });
    expect((await raw(stack.url, "/health", { headers: { authorization: "Bearer wrong" } })).json).toEqual({ status: "ok" });
    const token = await stack.adminToken();
    const full = await raw(stack.url, "/health", { headers: { authorization: `Bearer ${token}` } });
    expect(full.json).toMatchObject({ status: "ok", storage: "file", accounts: { total: 1 }, memory: { heap_used: expect.any(Number) } });
    const api = await raw(stack.url, "/api/health", { headers: { authorization: `Bearer ${token}` } });
    expect(api.json).toMatchObject({ status: "ok", accounts: { total: 1 } });
    expect((await raw(stack.url, "/api/health")).status).toBe(401);
  });
});
