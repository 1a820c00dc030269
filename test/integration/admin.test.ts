import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_PASSWORD, startStack, type Stack } from "../support/stack.js";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ accounts: 0 });
});
afterAll(async () => stack?.close());

async function api(method: string, p: string, body?: unknown, token?: string) {
  const res = await fetch(`${stack.url}${p}`, {
    method,
    headers: { "content-type": "application/json", ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as any };
}

describe("admin API (original Grok2API shapes)", () => {
  it("logs in only with the right password and rejects missing sessions", async () => {
    expect((await api("POST", "/api/login", { username: "admin", password: "admin" })).json).toMatchObject({ success: false });
    const ok = await api("POST", "/api/login", { username: "admin", password: ADMIN_PASSWORD });
    expect(ok.json).toMatchObject({ success: true, token: expect.any(String) });
    expect((await api("GET", "/api/tokens")).status).toBe(401);
    expect((await api("GET", "/api/tokens", undefined, "bogus")).status).toBe(401);
  });

  it("stores only a hash of the admin password", () => {
    const kv = readFileSync(path.join(stack.dataDir, "kv.json"), "utf8");
    expect(kv).not.toContain(ADMIN_PASSWORD);
    expect(kv).toContain("scrypt$");
  });

  it("adds, lists, tags, notes and deletes tokens", async () => {
    const t = await stack.adminToken();
    const a = stack.fake.addAccount();
    const b = stack.fake.addAccount({ tier: "super" });
    expect((await api("POST", "/api/tokens/add", { tokens: [`sso=${a.sso}; path=/`, ""], token_type: "sso" }, t)).json).toMatchObject({ success: true, count: 1 });
    expect((await api("POST", "/api/tokens/add", { tokens: [b.sso], token_type: "ssoSuper" }, t)).json).toMatchObject({ success: true, count: 1 });
    expect((await api("POST", "/api/tokens/add", { tokens: [a.sso], token_type: "weird" }, t)).status).toBe(400);
    const list = await api("GET", "/api/tokens", undefined, t);
    expect(list.json.total).toBe(2);
    const infoA = list.json.data.find((d: any) => d.token === a.sso);
    expect(infoA).toMatchObject({ token_type: "sso", remaining_queries: -1, heavy_remaining_queries: -1, status: "未使用", tags: [], note: "" });
    expect(list.json.data.find((d: any) => d.token === b.sso).token_type).toBe("ssoSuper");
    expect((await api("POST", "/api/tokens/tags", { token: a.sso, token_type: "sso", tags: ["team", "team", "x"] }, t)).json).toEqual({ success: true, message: "Tags updated", tags: ["team", "x"] });
    expect((await api("POST", "/api/tokens/note", { token: a.sso, token_type: "sso", note: "main" }, t)).json.note).toBe("main");
    expect((await api("GET", "/api/tokens/tags/all", undefined, t)).json.data).toEqual(["team", "x"]);
    const test = await api("POST", "/api/tokens/test", { token: a.sso, token_type: "sso" }, t);
    expect(test.json).toMatchObject({ success: true, data: { valid: true } });
    expect((await api("GET", "/api/stats", undefined, t)).json.data).toMatchObject({ total: 2, normal: { total: 1 }, super: { total: 1 } });
    expect((await api("GET", "/api/storage/mode", undefined, t)).json).toEqual({ success: true, data: { mode: "FILE" } });
    expect((await api("POST", "/api/tokens/delete", { tokens: [a.sso, b.sso], token_type: "sso" }, t)).json.count).toBe(2);
    expect((await api("GET", "/api/tokens", undefined, t)).json.total).toBe(0);
  });

  it("testing a logged-out account marks it dead, and a later good test revives it", async () => {
    const t = await stack.adminToken();
    const acc = stack.fake.addAccount();
    await api("POST", "/api/tokens/add", { tokens: [acc.sso], token_type: "sso" }, t);
    stack.fake.setSession(acc.sso, "unauthenticated");
    const bad = await api("POST", "/api/tokens/test", { token: acc.sso, token_type: "sso" }, t);
    expect(bad.json).toMatchObject({ success: false, data: { valid: false, error_type: "expired", kind: "unauthorized" } });
    let row = (await api("GET", "/api/tokens", undefined, t)).json.data.find((d: any) => d.token === acc.sso);
    expect([row.state, row.status]).toEqual(["dead", "失效"]);
    stack.fake.setSession(acc.sso, "authenticated");
    expect((await api("POST", "/api/tokens/test", { token: acc.sso, token_type: "sso" }, t)).json.success).toBe(true);
    row = (await api("GET", "/api/tokens", undefined, t)).json.data.find((d: any) => d.token === acc.sso);
    expect(row.state).toBe("active");
    expect(row.quota.fast).toMatchObject({ confidence: "confirmed", total: 30 });
    await api("POST", "/api/tokens/delete", { tokens: [acc.sso], token_type: "sso" }, t);
  });

  it("reads and updates settings with validation, never revealing the password", async () => {
    const t = await stack.adminToken();
    const got = await api("GET", "/api/settings", undefined, t);
    expect(got.json.data.global.admin_password).toBe("");
    expect(got.json.data.grok).toMatchObject({ show_thinking: true, chat_transport: "gateway", stream_chunk_timeout: 120 });
    expect((await api("POST", "/api/settings", { grok_config: { stream_chunk_timeout: "45", custom_key: "kept" } }, t)).json.success).toBe(true);
    const after = await api("GET", "/api/settings", undefined, t);
    expect(after.json.data.grok.stream_chunk_timeout).toBe(45);
    expect(after.json.data.grok.custom_key).toBe("kept");
    const bad = await api("POST", "/api/settings", { grok_config: { chat_transport: "carrier-pigeon" } }, t);
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/grok\.chat_transport/);
    const stored = JSON.parse(readFileSync(path.join(stack.dataDir, "settings.json"), "utf8"));
    expect(JSON.stringify(stored)).toContain('"stream_chunk_timeout":45');
  });

  it("logout ends the session", async () => {
    const login = await api("POST", "/api/login", { username: "admin", password: ADMIN_PASSWORD });
    expect((await api("POST", "/api/logout", {}, login.json.token)).json.success).toBe(true);
    expect((await api("GET", "/api/tokens", undefined, login.json.token)).status).toBe(401);
  });
});
