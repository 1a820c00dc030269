import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword, LoginThrottle, loginDelayMs, SCRYPT_PARAMS } from "../../src/server/admin/auth.js";
import { ADMIN_PASSWORD, startStack, type Stack } from "../support/stack.js";
import { captureLog, JSON_HEADERS, raw } from "./support.js";

/** Admin login and sessions (issue 6): attempts reserved before hashing, growing delays, no lock-out, sessions ending with the password. */
let stack: Stack;
let logged: string[];
beforeAll(async () => {
  const { log, lines } = captureLog();
  logged = lines;
  stack = await startStack({ accounts: 0, log });
});
afterAll(async () => stack?.close());

const login = (password: string, headers: Record<string, string> = {}) => raw(stack.url, "/api/login", { headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify({ username: "admin", password }) });
const waitFor = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("admin login", () => {
  it("verifies one attempt per client at a time: 40 concurrent wrong passwords cost one scrypt, then the right one works after the delay", async () => {
    // a page of another site is refused before anything is counted
    for (let i = 0; i < 5; i++) expect((await login("wrong", { origin: "https://evil.example" })).status).toBe(403);
    expect((await login(ADMIN_PASSWORD)).status).toBe(200); // nothing was counted

    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 40 }, () => login("wrong-password")));
    const elapsed = Date.now() - t0;
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(1); // the one that was verified
    expect(statuses.filter((s) => s === 429)).toHaveLength(39); // refused before hashing
    expect(elapsed).toBeLessThan(5_000); // 40 scrypt runs at N=2^17 would take ~12 s
    const throttled = results.find((r) => r.status === 429)!;
    expect(Number(throttled.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(throttled.json).toMatchObject({ success: false, code: "rate_limited" });

    // two more failures: the third costs a 1 s delay, during which even the right password waits
    expect((await login("wrong-2")).status).toBe(401);
    expect((await login("wrong-3")).status).toBe(401);
    const early = await login(ADMIN_PASSWORD);
    expect(early.status).toBe(429);
    await waitFor(Number(early.headers["retry-after"]) * 1000 + 50);
    const ok = await login(ADMIN_PASSWORD);
    expect(ok.status).toBe(200); // never locked out
    expect(ok.json.token).toEqual(expect.any(String));

    // the throttled attempts were logged once per refusal period, not once per attempt
    const lines = logged.filter((l) => l.includes("admin logins throttled"));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(3);
    expect(logged.some((l) => l.includes(ADMIN_PASSWORD) || l.includes("wrong-password"))).toBe(false);
  });

  it("stores the hash at OWASP cost and still accepts an old, cheaper hash (upgrading it)", async () => {
    expect(await stack.server.deps.store.kvGet("admin:password_hash")).toMatch(new RegExp(`^scrypt\\$${SCRYPT_PARAMS.N}\\$8\\$1\\$`));
    const old = await hashPassword("an-older-password", { N: 16384, r: 8, p: 1 });
    await stack.server.deps.store.kvSet("admin:password_hash", old);
    expect((await login("an-older-password")).status).toBe(200);
    const upgraded = await stack.server.deps.store.kvGet("admin:password_hash");
    expect(upgraded).toMatch(/^scrypt\$131072\$/);
    expect((await login("an-older-password")).status).toBe(200);
    await stack.server.deps.auth.setPassword(ADMIN_PASSWORD);
  });

  it("ends every session when the admin password changes", async () => {
    const a = (await login(ADMIN_PASSWORD)).json.token as string;
    const b = (await login(ADMIN_PASSWORD)).json.token as string;
    const get = (t: string) => raw(stack.url, "/api/stats", { headers: { authorization: `Bearer ${t}` } });
    expect((await get(a)).status).toBe(200);
    const change = await raw(stack.url, "/api/settings", { headers: { ...JSON_HEADERS, authorization: `Bearer ${a}` }, body: JSON.stringify({ global_config: { admin_password: "a-brand-new-password" } }) });
    expect(change.status).toBe(200);
    expect((await get(a)).status).toBe(401);
    expect((await get(b)).status).toBe(401);
    expect((await login(ADMIN_PASSWORD)).status).toBe(401);
    const fresh = (await login("a-brand-new-password")).json.token as string;
    expect((await get(fresh)).status).toBe(200);
    await stack.server.deps.auth.setPassword(ADMIN_PASSWORD);
    expect((await get(fresh)).status).toBe(401);
  });

  it("ends every session when GROK2API_ADMIN_PASSWORD changes between starts", async () => {
    const first = await startStack({ accounts: 0 });
    const token = await first.adminToken();
    const dataDir = first.dataDir;
    await first.server.close();
    const { startServer } = await import("../../src/server/server.js");
    const { loadRuntimeConfig } = await import("../../src/server/config/env.js");
    const { createLogger } = await import("../../src/server/log.js");
    const env = { PORT: "0", GROK2API_DATA_DIR: dataDir, GROK2API_UPSTREAM_URL: first.fake.url, GROK2API_ASSETS_URL: first.fake.assetsUrl, LOG_LEVEL: "silent" };
    const same = await startServer(loadRuntimeConfig({ ...env, GROK2API_ADMIN_PASSWORD: ADMIN_PASSWORD }), { log: createLogger("silent") });
    expect((await raw(same.url, "/api/stats", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200); // same password: session kept
    await same.close();
    const changed = await startServer(loadRuntimeConfig({ ...env, GROK2API_ADMIN_PASSWORD: "another-password-1" }), { log: createLogger("silent") });
    try {
      expect((await raw(changed.url, "/api/stats", { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    } finally {
      await changed.close();
      await first.close();
    }
  });
});

describe("login throttle", () => {
  it("grows the delay instead of locking out, and forgets idle clients", () => {
    expect([0, 1, 2, 3, 4, 5, 9, 30].map(loginDelayMs)).toEqual([0, 0, 0, 1000, 2000, 4000, 60_000, 60_000]);
    let now = 1_000_000;
    const t = new LoginThrottle(() => now);
    for (let i = 0; i < 3; i++) {
      expect(t.reserve("a")).toBeNull();
      t.settle("a", "fail");
    }
    expect(t.reserve("a")).toMatchObject({ retryAfterMs: 1000, firstRefusal: true });
    expect(t.reserve("a")).toMatchObject({ firstRefusal: false });
    now += 1000;
    expect(t.reserve("a")).toBeNull();
    t.settle("a", "ok");
    for (let i = 0; i < 5000; i++) {
      t.reserve(`client-${i}`);
      t.settle(`client-${i}`, "fail");
    }
    expect(t.size).toBe(5000);
    now += 16 * 60_000;
    t.reserve("b");
    expect(t.size).toBe(1); // the idle ones were pruned
  });
});
