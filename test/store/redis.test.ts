import { afterEach, describe, expect, it } from "vitest";
import { createStore } from "../../src/server/store/index.js";
import { REDIS_SCHEMA_VERSION, RedisStore, checkRedisUrl } from "../../src/server/store/redis-store.js";
import { tokenHash } from "../../src/server/store/records.js";
import type { StoreChange } from "../../src/server/store/types.js";
import { runStoreContract, rec, storeFixture, tok } from "./contract.js";
import { createTestRedis, waitFor, type TestRedis } from "./helpers.js";

runStoreContract("redis", async () => {
  const r = await createTestRedis();
  return storeFixture(() => createStore({ mode: "redis", dataDir: "/nonexistent", databaseUrl: r.url, keyPrefix: r.prefix }), () => r.cleanup());
});

describe("redis store specifics", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  async function redis(extraKeys: string[] = []): Promise<TestRedis> {
    const r = await createTestRedis(extraKeys);
    cleanups.push(() => r.cleanup());
    return r;
  }
  async function openStore(r: TestRedis, extra: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}): Promise<RedisStore> {
    const s = new RedisStore({ url: r.url, keyPrefix: r.prefix, ...extra });
    await s.init();
    cleanups.unshift(() => s.close());
    return s;
  }

  it("checks DATABASE_URL", () => {
    expect(checkRedisUrl("rediss://user:pw@host:6380/2").protocol).toBe("rediss:");
    expect(() => checkRedisUrl("mysql://x")).toThrow(/redis:\/\//);
    expect(() => checkRedisUrl("redis://h/abc")).toThrow(/number/);
  });

  it("uses the documented key layout under its prefix", async () => {
    const r = await redis();
    const s = await openStore(r);
    const t = tok();
    await s.putAccounts([rec(t)]);
    await s.saveSettings({ global: { a: 1 } });
    await s.kvSet("sess", "v", 60_000);
    await s.acquireSlot(t, "lease", 2, 60_000);
    const c = r.client;
    expect(await c.type(`${r.prefix}accounts`)).toBe("hash");
    expect(JSON.parse((await c.hget(`${r.prefix}accounts`, t))!).token).toBe(t);
    expect(JSON.parse((await c.get(`${r.prefix}settings`))!)).toEqual({ global: { a: 1 } });
    expect(await c.get(`${r.prefix}kv:sess`)).toBe("v");
    const pttl = await c.pttl(`${r.prefix}kv:sess`);
    expect(pttl).toBeGreaterThan(50_000);
    expect(await c.type(`${r.prefix}slots:${tokenHash(t)}`)).toBe("zset");
    expect(Number(await c.zscore(`${r.prefix}slots:${tokenHash(t)}`, "lease"))).toBeGreaterThan(Date.now());
    expect(await c.get(`${r.prefix}schema`)).toBe(String(REDIS_SCHEMA_VERSION));
    // nothing outside the prefix
    const [, keys] = await c.scan("0", "MATCH", `${r.prefix}*`, "COUNT", 1000);
    expect(keys.every((k) => k.startsWith(r.prefix))).toBe(true);
  });

  it("announces writes on <prefix>changes and ignores its own messages", async () => {
    const r = await redis();
    const a = await openStore(r);
    const b = await openStore(r);
    const sub = r.client.duplicate();
    cleanups.unshift(async () => void sub.disconnect());
    const raw: string[] = [];
    sub.on("message", (_ch: string, m: string) => raw.push(m));
    await sub.subscribe(`${r.prefix}changes`);
    const seenA: StoreChange[] = [];
    const seenB: StoreChange[] = [];
    a.onChange((c) => seenA.push(c));
    b.onChange((c) => seenB.push(c));
    const t = tok();
    await a.putAccounts([rec(t)]);
    expect(await waitFor(() => seenB.length > 0 && raw.length > 0, 2000)).toBeTruthy();
    expect(seenB[0]).toEqual({ kind: "accounts", tokens: [t] });
    expect(JSON.parse(raw[0]!)).toMatchObject({ k: "accounts", t: [t] });
    await new Promise((res) => setTimeout(res, 100));
    expect(seenA).toEqual([]);
  });

  it("after the change-feed connection drops and reconnects, listeners are told to reload everything", async () => {
    const r = await redis();
    const s = await openStore(r);
    const seen: StoreChange[] = [];
    s.onChange((c) => seen.push(c));
    // our db index is claimed by this test alone, so its only subscriber is the store's
    const list = String(await r.client.client("LIST"));
    const ids = list
      .split("\n")
      .filter((l) => new RegExp(`\\bdb=${r.db}\\b`).test(l) && /\bsub=1\b/.test(l))
      .map((l) => /\bid=(\d+)/.exec(l)![1]!);
    expect(ids).toHaveLength(1);
    await r.client.client("KILL", "ID", ids[0]!);
    expect(await waitFor(() => seen.some((c) => c.kind === "accounts" && c.tokens === "all"), 5000)).toBe(true);
    expect(seen.some((c) => c.kind === "settings")).toBe(true);
    // and the feed works again
    const other = await openStore(r);
    seen.length = 0;
    const t = tok();
    await other.putAccounts([rec(t)]);
    expect(await waitFor(() => seen.some((c) => c.kind === "accounts" && c.tokens !== "all" && c.tokens.includes(t)), 3000)).toBe(true);
  });

  it("a big putAccounts is announced as 'all' accounts", async () => {
    const r = await redis();
    const a = await openStore(r);
    const b = await openStore(r);
    const seen: StoreChange[] = [];
    b.onChange((c) => seen.push(c));
    await a.putAccounts(Array.from({ length: 300 }, (_, i) => rec(tok(`bulk${i}`))));
    expect(await waitFor(() => seen.length > 0, 2000)).toBe(true);
    expect(seen[0]).toEqual({ kind: "accounts", tokens: "all" });
    expect(await b.listAccounts()).toHaveLength(300);
  });

  it("imports the original Grok2API keys once on first start", async () => {
    const r = await redis(["grok:tokens", "grok:settings"]);
    // the original's keys are fixed names; only create them if nobody else has them in this db
    expect(await r.client.exists("grok:tokens", "grok:settings")).toBe(0);
    await r.client.set("grok:tokens", JSON.stringify({ sso: { "sso=eyJ.legacy.r": { createdTime: 1_700_000_000, remainingQueries: 0, status: "active" } }, ssoSuper: {} }));
    await r.client.set("grok:settings", JSON.stringify({ global: { api_keys: ["k"] }, grok: {} }));
    const logs: string[] = [];
    const s = await openStore(r, { log: (_l, m) => logs.push(m) });
    const list = await s.listAccounts();
    expect(list.map((x) => x.token)).toEqual(["eyJ.legacy.r"]);
    expect(list[0]!.createdAt).toBe(1_700_000_000_000);
    expect(await s.getSettings()).toEqual({ global: { api_keys: ["k"] }, grok: {} });
    expect(logs.join("\n")).toMatch(/imported 1 account/);
    await s.deleteAccounts(["eyJ.legacy.r"]);
    const again = await openStore(r);
    expect(await again.listAccounts()).toEqual([]);
    expect(await r.client.get("grok:tokens")).toContain("eyJ.legacy.r"); // original left untouched
  });

  it("fails init() with a clear error when the server is unreachable", async () => {
    const s = new RedisStore({ url: "redis://127.0.0.1:1/0" });
    await expect(s.init()).rejects.toThrow(/Redis connection to 127\.0\.0\.1:1 failed/);
  });
});
