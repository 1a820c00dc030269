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

  it("imports the original token.json and plain lists, exports in three formats, round-trips", async () => {
    const t = await stack.adminToken();
    const [a, b, c] = [stack.fake.addAccount(), stack.fake.addAccount(), stack.fake.addAccount()];
    const legacy = { ssoNormal: { [a.sso]: { createdTime: 1730000000000, remainingQueries: 12, heavyremainingQueries: -1, status: "active", tags: ["old"], note: "from v1" } }, ssoSuper: { [b.sso]: { status: "expired", remainingQueries: 0 } } };
    const imp = async (body: string, query = "") => {
      const res = await fetch(`${stack.url}/api/tokens/import${query}`, { method: "POST", headers: { authorization: `Bearer ${t}` }, body });
      return { status: res.status, json: (await res.json()) as any };
    };
    expect((await imp(JSON.stringify(legacy))).json.data).toMatchObject({ format: "legacy-token-json", added: 2 });
    expect((await imp(`# my accounts\nsso=${c.sso}; path=/\n${a.sso}\n`)).json.data).toMatchObject({ format: "token-list", added: 1, existing: 1 });
    expect((await imp("{broken")).status).toBe(400);
    const list = (await api("GET", "/api/tokens", undefined, t)).json.data as any[];
    const ra = list.find((d) => d.token === a.sso);
    expect(ra).toMatchObject({ token_type: "sso", tags: ["old"], note: "from v1", remaining_queries: 12 });
    expect(list.find((d) => d.token === b.sso)).toMatchObject({ token_type: "ssoSuper", state: "dead" });

    const exp = await fetch(`${stack.url}/api/tokens/export?format=json`, { headers: { authorization: `Bearer ${t}` } });
    expect(exp.headers.get("content-disposition")).toMatch(/attachment; filename="grok2api-export-/);
    const doc = (await exp.json()) as any;
    expect(doc).toMatchObject({ format: "grok2api-desktop", version: 1 });
    expect(doc.accounts).toHaveLength(3);
    expect(doc.settings.grok).toBeTruthy();
    const legacyOut = (await (await fetch(`${stack.url}/api/tokens/export?format=legacy`, { headers: { authorization: `Bearer ${t}` } })).json()) as any;
    expect(Object.keys(legacyOut.ssoNormal).sort()).toEqual([a.sso, c.sso].sort());
    expect(Object.keys(legacyOut.ssoSuper)).toEqual([b.sso]);
    const txt = await (await fetch(`${stack.url}/api/tokens/export?format=txt`, { headers: { authorization: `Bearer ${t}` } })).text();
    expect(txt.trim().split("\n").sort()).toEqual([a.sso, b.sso, c.sso].sort());

    // restore into an empty pool from the export: everything comes back
    expect((await api("POST", "/api/tokens/delete", { tokens: [a.sso, b.sso, c.sso] }, t)).json.count).toBe(3);
    expect((await imp(JSON.stringify(doc))).json.data).toMatchObject({ format: "grok2api-desktop", added: 3 });
    const back = (await api("GET", "/api/tokens", undefined, t)).json.data as any[];
    expect(back.find((d) => d.token === a.sso)).toMatchObject({ tags: ["old"], note: "from v1" });
    await api("POST", "/api/tokens/delete", { tokens: [a.sso, b.sso, c.sso] }, t);
  });

  it("shows one account's detail with its recent failures, updates tier and disabled, tests in bulk", async () => {
    const t = await stack.adminToken();
    const good = stack.fake.addAccount();
    const bad = stack.fake.addAccount();
    await api("POST", "/api/tokens/add", { tokens: [good.sso, bad.sso], token_type: "sso" }, t);
    stack.fake.setSession(bad.sso, "blocked");
    const bulk = await api("POST", "/api/tokens/test/bulk", {}, t);
    expect(bulk.json.data).toMatchObject({ total: 2, valid: 1, invalid: 1 });
    expect(bulk.json.data.results.find((r: any) => r.token === bad.sso)).toMatchObject({ valid: false, kind: "banned", state: "dead" });
    const detail = await api("GET", `/api/tokens/detail?token=${encodeURIComponent(bad.sso)}`, undefined, t);
    expect(detail.json.data.failures.at(-1)).toMatchObject({ kind: "banned", message: expect.stringMatching(/blocked/) });
    expect((await api("GET", "/api/tokens/detail?token=nope", undefined, t)).status).toBe(404);
    const upd = await api("POST", "/api/tokens/update", { token: good.sso, tier: "super", disabled: true }, t);
    expect(upd.json.data).toMatchObject({ tier: "super", tier_source: "manual", state: "disabled", token_type: "ssoSuper" });
    expect((await api("POST", "/api/tokens/update", { token: good.sso, tier: "ultra" }, t)).status).toBe(400);
    const stats = await api("GET", "/api/stats", undefined, t);
    expect(stats.json.data).toMatchObject({ dead: 1, disabled: 1, usable: 0 });
    await api("POST", "/api/tokens/delete", { tokens: [good.sso, bad.sso] }, t);
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
