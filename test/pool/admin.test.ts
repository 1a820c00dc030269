import { describe, expect, it } from "vitest";
import { AccountPool } from "../../src/server/pool/account-pool.js";
import { maskToken, normalizeToken } from "../../src/server/core/token.js";
import { account, bucket, reading, setup, T0 } from "./helpers.js";

describe("add / remove", () => {
  it("normalises, de-duplicates and persists new tokens; reports the ones it already had", async () => {
    const { pool, store } = await setup([account("old")]);
    const res = await pool.add(["sso=new1; sso-rw=new1", "new1", " new2\r\n", "old", ""]);
    expect(res).toEqual({ added: ["new1", "new2"], existing: ["old"] });
    expect(store.raw("new1")).toMatchObject({ tier: "basic", tierSource: "detected", status: "active", createdAt: T0 });
    const l = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic", exclude: new Set(["old", "new2"]) });
    expect(l.token).toBe("new1");
    await l.release();
  });

  it("takes a tier (manual unless told otherwise) and tags", async () => {
    const { pool, store } = await setup([]);
    await pool.add(["s"], { tier: "super", tags: [" team ", "team", ""] });
    await pool.add(["i"], { tier: "super", tierSource: "imported" });
    expect(store.raw("s")).toMatchObject({ tier: "super", tierSource: "manual", tags: ["team"] });
    expect(store.raw("i")).toMatchObject({ tier: "super", tierSource: "imported" });
  });

  it("does not overwrite a token another process added meanwhile", async () => {
    const { pool, store } = await setup([]);
    await store.putAccounts([account("x", { note: "theirs" })]);
    const res = await pool.add(["x"]);
    expect(res).toEqual({ added: [], existing: ["x"] });
    expect(store.raw("x").note).toBe("theirs");
    expect(pool.get("x")!.note).toBe("theirs");
  });

  it("remove() deletes from the store and the pool", async () => {
    const { pool, store } = await setup([account("a"), account("b")]);
    expect(await pool.remove(["a", "zzz"])).toBe(1);
    expect(store.records.has("a")).toBe(false);
    expect(pool.list().map((v) => v.token)).toEqual(["b"]);
    await pool.remove(["b"]);
    await expect(pool.lease({ bucket: "fast", cost: 1, minTier: "basic" })).rejects.toMatchObject({ reason: "empty" });
  });
});

describe("update / markHealthy", () => {
  it("updates tags and note durably", async () => {
    const { pool, store } = await setup([account("a")]);
    const v = await pool.update("a", { tags: ["b", "a", "b"], note: "main" });
    expect(v).toMatchObject({ tags: ["b", "a"], note: "main", inFlight: 0 });
    expect(store.raw("a")).toMatchObject({ tags: ["b", "a"], note: "main" });
  });

  it("disables and re-enables", async () => {
    const { pool, store } = await setup([account("a")]);
    await pool.update("a", { disabled: true });
    expect(store.raw("a")).toMatchObject({ status: "disabled", statusReason: "disabled by the operator" });
    await expect(pool.lease({ bucket: "fast", cost: 1, minTier: "basic" })).rejects.toMatchObject({ reason: "all_dead" });
    await pool.update("a", { disabled: false });
    expect(store.raw("a")).toMatchObject({ status: "active", statusReason: "" });
  });

  it("rejects unknown accounts and tiers", async () => {
    const { pool } = await setup([account("a")]);
    await expect(pool.update("zzz", { note: "x" })).rejects.toThrow(/unknown account/);
    await expect(pool.update("a", { tier: "mega" as never })).rejects.toThrow(TypeError);
    await expect(pool.markHealthy("zzz")).rejects.toThrow(/unknown account/);
  });

  it("markHealthy applies quota readings too", async () => {
    const { pool, store } = await setup([account("a", { status: "dead", statusReason: "401" })]);
    await pool.markHealthy("a", [reading("fast", 12, 30)]);
    expect(store.raw("a")).toMatchObject({ status: "active" });
    expect(store.raw("a").quota["fast"]).toMatchObject({ remaining: 12, confidence: "confirmed" });
  });
});

describe("views and stats", () => {
  it("views carry in-flight, effective status and usability", async () => {
    const { pool, clock } = await setup([
      account("a"),
      account("c", { status: "cooling", cooldownUntil: T0 + 1_000 }),
      account("x", { quota: { fast: bucket(0, 30, { resetAt: T0 + 5_000 }) } }),
    ]);
    const l = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    expect(pool.get("a")).toMatchObject({ inFlight: 1, effectiveStatus: "active", usable: true });
    expect(pool.get("c")).toMatchObject({ status: "cooling", effectiveStatus: "cooling", usable: false });
    expect(pool.get("x")).toMatchObject({ effectiveStatus: "active", usable: false });
    clock.advance(1_000);
    expect(pool.get("c")).toMatchObject({ status: "cooling", effectiveStatus: "active", usable: true });
    await l.release();
  });

  it("stats() adds up and knows the earliest reset", async () => {
    const { pool } = await setup([
      account("a", {}, "basic"),
      account("s", {}, "super"),
      account("c", { status: "cooling", cooldownUntil: T0 + 90_000 }, "super"),
      account("x", { quota: { fast: bucket(0, 30, { resetAt: T0 + 60_000 }) } }, "heavy"),
      account("d", { status: "dead" }),
      account("off", { status: "disabled" }),
    ]);
    const l = await pool.lease({ bucket: "fast", cost: 1, minTier: "super" });
    const s = pool.stats();
    expect(s).toEqual({ total: 6, usable: 2, cooling: 2, dead: 1, disabled: 1, inFlight: 1, nextResetAt: T0 + 60_000, byTier: { basic: 3, super: 2, heavy: 1 } });
    expect(s.total).toBe(s.usable + s.cooling + s.dead + s.disabled);
    await l.release();
  });

  it("nextResetAt(bucket) only looks at that bucket", async () => {
    const { pool } = await setup([
      account("x", { quota: { fast: bucket(0, 30, { resetAt: T0 + 60_000 }), image_pro: bucket(0, 10, { resetAt: T0 + 10_000 }) } }),
      account("c", { status: "cooling", cooldownUntil: T0 + 30_000 }),
    ]);
    expect(pool.nextResetAt()).toBe(T0 + 10_000); // x has no bucket left: back with its earliest reset
    expect(pool.nextResetAt("fast")).toBe(T0 + 30_000);
    expect(pool.nextResetAt("image_pro")).toBe(T0 + 10_000);
  });

  it("nextResetAt() is null when nothing is waiting", async () => {
    const { pool } = await setup([account("a"), account("d", { status: "dead" })]);
    expect(pool.nextResetAt()).toBeNull();
    expect(pool.stats().nextResetAt).toBeNull();
  });
});

describe("loading and the change feed", () => {
  it("reload(tokens) picks up changes, deletions and additions made by other processes", async () => {
    const { pool, store } = await setup([account("a"), account("b")]);
    store.mutate("a", (r) => {
      r.status = "disabled";
    });
    await store.deleteAccounts(["b"]);
    await store.putAccounts([account("c")]);
    await pool.reload(["a", "b", "c"]);
    expect(pool.list().map((v) => [v.token, v.status]).sort()).toEqual([["a", "disabled"], ["c", "active"]]);
  });

  it("forgets a bucket that disappeared from the stored record", async () => {
    const { pool, store } = await setup([account("a", { quota: { fast: bucket(0, 30, { resetAt: T0 + 60_000 }) } })]);
    await expect(pool.lease({ bucket: "fast", cost: 1, minTier: "basic" })).rejects.toMatchObject({ reason: "quota" });
    store.mutate("a", (r) => (r.quota = {}));
    await pool.reload(["a"]);
    const l = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    expect(l.token).toBe("a");
    await l.release();
  });

  it("keeps every account's own figures when another account is removed", async () => {
    const { pool } = await setup([
      account("a"),
      account("b"),
      account("c", { status: "cooling", cooldownUntil: T0 + 30_000, quota: { fast: bucket(0, 30, { resetAt: T0 + 60_000 }) } }, "super"),
      account("d", { quota: { fast: bucket(0, 30, { resetAt: T0 + 90_000 }) } }, "heavy"),
    ]);
    await pool.remove(["a", "b"]); // d and c move into the freed slots
    const err = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "quota", nextAvailableAt: T0 + 60_000, counts: { tierOk: 2, cooling: 1, quota: 1 } });
    await expect(pool.lease({ bucket: "fast", cost: 1, minTier: "heavy" })).rejects.toMatchObject({ reason: "quota", nextAvailableAt: T0 + 90_000 });
    expect(pool.stats()).toMatchObject({ total: 2, usable: 0, byTier: { basic: 0, super: 1, heavy: 1 } });
  });

  it("reload('all') re-reads everything and keeps in-flight counts", async () => {
    const { pool, store } = await setup([account("a"), account("b")]);
    const l = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic", exclude: new Set(["b"]) });
    store.mutate("a", (r) => (r.note = "n"));
    await store.deleteAccounts(["b"]);
    await store.putAccounts([account("c")]);
    await pool.reload("all");
    expect(pool.list().map((v) => v.token).sort()).toEqual(["a", "c"]);
    expect(pool.get("a")).toMatchObject({ note: "n", inFlight: 1 });
    await l.release();
    expect(pool.get("a")!.inFlight).toBe(0);
  });

  it("a re-read during a pending write does not lose the write", async () => {
    const { pool, store } = await setup([account("a")]);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const original = store.updateAccount.bind(store);
    store.updateAccount = async (token, fn) => {
      await gate;
      return original(token, fn);
    };
    const l = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    const failing = l.fail("unauthorized", "401");
    const reloading = pool.reload("all"); // reads "active" from the store while the write is held
    await new Promise((r) => setImmediate(r));
    expect(store.calls.listAccounts).toBe(2);
    expect(pool.get("a")!.status).toBe("dead");
    release();
    await failing;
    await reloading;
    await pool.whenIdle();
    expect(pool.get("a")!.status).toBe("dead");
    expect(store.raw("a").status).toBe("dead");
  });

  it("two pools on one store see each other's changes through reload", async () => {
    const { store, clock } = await setup([account("a"), account("b")]);
    const p1 = new AccountPool({ store, clock });
    const p2 = new AccountPool({ store, clock });
    await p1.load();
    await p2.load();
    const l = await p1.lease({ bucket: "fast", cost: 1, minTier: "basic", exclude: new Set(["b"]) });
    await l.fail("banned", "User is blocked");
    await p2.reload([l.token]);
    for (let i = 0; i < 3; i++) {
      const x = await p2.lease({ bucket: "fast", cost: 1, minTier: "basic" });
      expect(x.token).toBe("b");
      await x.release();
    }
  });
});

describe("token helpers", () => {
  it("normalizeToken strips sso=, cuts at ';' and removes CR/LF/NUL", () => {
    expect(normalizeToken("sso=eyJ.abc.def; sso-rw=eyJ")).toBe("eyJ.abc.def");
    expect(normalizeToken("  eyJ.a\r\n.b\0 ")).toBe("eyJ.a.b");
  });

  it("maskToken never shows the whole token", () => {
    const t = "eyJhbGciOiJIUzI1NiJ9.eyJzZXNzaW9uX2lkIjoiYWJjIn0.sig";
    expect(maskToken(t)).toBe("eyJhbG…0.sig".replace("0.sig", t.slice(-4)));
    expect(maskToken(t)).not.toContain(t.slice(6, -4));
  });
});
