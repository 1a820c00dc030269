import { describe, expect, it } from "vitest";
import { AccountPool } from "../../src/server/pool/account-pool.js";
import { NoAccountError } from "../../src/server/pool/no-account-error.js";
import { account, bucket, pick, seeded, setup, T0 } from "./helpers.js";
import { MemoryPoolStore } from "./memory-store.js";

describe("eligibility", () => {
  it("leases only accounts whose tier serves the model", async () => {
    const { pool } = await setup([account("b1", {}, "basic"), account("s1", {}, "super")]);
    for (let i = 0; i < 5; i++) expect(await pick(pool, "expert", "super")).toBe("s1");
  });

  it("skips dead, disabled and cooling accounts", async () => {
    const { pool } = await setup([
      account("dead", { status: "dead", statusReason: "banned" }),
      account("off", { status: "disabled" }),
      account("cool", { status: "cooling", cooldownUntil: T0 + 60_000 }),
      account("ok"),
    ]);
    for (let i = 0; i < 5; i++) expect(await pick(pool)).toBe("ok");
  });

  it("skips an account whose bucket is exhausted, but still uses its other buckets", async () => {
    const { pool } = await setup([
      account("a", { quota: { fast: bucket(0, 30, { resetAt: T0 + 3_600_000 }), expert: bucket(5, 5) } }, "super"),
      account("b", { quota: { fast: bucket(10, 30) } }, "super"),
    ]);
    expect(await pick(pool, "fast")).toBe("b");
    expect(await pick(pool, "fast")).toBe("b");
    expect(await pick(pool, "expert")).toBe("a"); // b has no expert figure (unknown) → a's confirmed wins
  });

  it("treats a bucket with fewer queries left than the cost as exhausted for that request", async () => {
    const { pool } = await setup([
      account("a", { quota: { expert: bucket(2, 20, { resetAt: T0 + 60_000 }) } }),
      account("b", { quota: { expert: bucket(20, 20) } }),
    ]);
    const lease = await pool.lease({ bucket: "expert", cost: 4, minTier: "basic" });
    expect(lease.token).toBe("b");
    await lease.succeed();
  });

  it("restores a bucket to its total (estimated) once its reset time has passed", async () => {
    const { pool, clock } = await setup([account("a", { quota: { fast: bucket(0, 30, { resetAt: T0 + 60_000 }) } })]);
    await expect(pool.lease({ bucket: "fast", cost: 1, minTier: "basic" })).rejects.toMatchObject({ reason: "quota" });
    clock.advance(60_000);
    const lease = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    expect(lease.account.quota["fast"]).toMatchObject({ remaining: 29, total: 30, confidence: "estimated", resetAt: null });
    await lease.succeed();
  });

  it("brings a cooling account back once its cooldown has passed, and persists it", async () => {
    const { pool, store, clock } = await setup([account("a", { status: "cooling", statusReason: "timeout", cooldownUntil: T0 + 30_000 })]);
    await expect(pool.lease({ bucket: "fast", cost: 1, minTier: "basic" })).rejects.toMatchObject({ reason: "all_cooling" });
    clock.advance(30_000);
    expect(await pick(pool)).toBe("a");
    await pool.whenIdle();
    expect(store.raw("a")).toMatchObject({ status: "active", statusReason: "", cooldownUntil: null, statusAt: T0 + 30_000 });
  });

  it("never leases an excluded token", async () => {
    const { pool } = await setup([account("a"), account("b"), account("c")]);
    const exclude = new Set(["a", "c"]);
    for (let i = 0; i < 5; i++) {
      const lease = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic", exclude });
      expect(lease.token).toBe("b");
      await lease.release();
    }
  });
});

describe("ranking", () => {
  it("prefers the lowest sufficient tier", async () => {
    const { pool } = await setup([account("h", {}, "heavy"), account("s", {}, "super"), account("b", {}, "basic")]);
    expect(await pick(pool, "fast", "basic")).toBe("b");
    expect(await pick(pool, "fast", "super")).toBe("s");
    expect(await pick(pool, "heavy", "heavy")).toBe("h");
  });

  it("prefers confirmed remaining quota, then estimated, then unknown", async () => {
    const { pool } = await setup([
      account("unknown"),
      account("estimated", { quota: { fast: bucket(20, 30, { confidence: "estimated" }) } }),
      account("confirmed", { quota: { fast: bucket(1, 30) } }),
    ], { concurrencyPerAccount: 0 });
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" }));
    // confirmed first; its decrement makes it exhausted (1 → 0), then estimated, then estimated again
    // (20 → 19 is still "estimated", which beats unknown)
    expect(held.map((l) => l.token)).toEqual(["confirmed", "estimated", "estimated"]);
    for (const l of held) await l.release();
  });

  it("prefers the account with fewer requests in flight over the least recently used one", async () => {
    const { pool, clock } = await setup([account("a", { lastUsedAt: 1 }), account("b", { lastUsedAt: 2 })], { concurrencyPerAccount: 5 });
    const la = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    expect(la.token).toBe("a"); // least recently used
    clock.advance(10);
    const lb = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    expect(lb.token).toBe("b");
    await lb.release();
    clock.advance(10);
    // a: 1 in flight, used longer ago; b: 0 in flight, used more recently → b
    const next = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    expect(next.token).toBe("b");
    await la.release();
    await next.release();
  });

  it("prefers the least recently used account", async () => {
    const { pool } = await setup([
      account("recent", { lastUsedAt: T0 - 1_000 }),
      account("old", { lastUsedAt: T0 - 100_000 }),
      account("older", { lastUsedAt: T0 - 200_000 }),
    ]);
    expect(await pick(pool)).toBe("older");
    expect(await pick(pool)).toBe("old");
    expect(await pick(pool)).toBe("recent");
  });

  it("chooses at random among equals (the injected random decides)", async () => {
    const first = async (random: () => number) => {
      const store = new MemoryPoolStore();
      await store.putAccounts(["a", "b", "c"].map((t) => account(t)));
      const pool = new AccountPool({ store, random, clock: { now: () => T0 } });
      await pool.load();
      return pick(pool);
    };
    // one draw per account at load (in store order a, b, c): the lowest draw wins the tie
    const draws = (...xs: number[]) => () => xs.shift() ?? 0.5;
    expect(await first(draws(0.9, 0.1, 0.5))).toBe("b");
    expect(await first(draws(0.2, 0.9, 0.5))).toBe("a");
    expect(await first(draws(0.9, 0.8, 0.01))).toBe("c");
    const seen = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) seen.add(await first(seeded(seed)));
    expect([...seen].sort()).toEqual(["a", "b", "c"]);
  });
});

describe("local estimate", () => {
  it("decrements the bucket on lease, so concurrent leases spread over accounts", async () => {
    const { pool } = await setup(
      [account("a", { quota: { fast: bucket(2, 30) } }), account("b", { quota: { fast: bucket(2, 30) } })],
      { concurrencyPerAccount: 0 },
    );
    const leases = [];
    for (let i = 0; i < 4; i++) leases.push(await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" }));
    const counts = leases.reduce<Record<string, number>>((m, l) => ({ ...m, [l.token]: (m[l.token] ?? 0) + 1 }), {});
    expect(counts).toEqual({ a: 2, b: 2 });
    expect(pool.get("a")!.quota["fast"]).toMatchObject({ remaining: 0, confidence: "estimated" });
    const err = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoAccountError);
    expect((err as NoAccountError).reason).toBe("quota");
    // the estimate ran out: the reset is estimated as now + window
    expect((err as NoAccountError).nextAvailableAt).toBe(T0 + 86_400_000);
    for (const l of leases) await l.succeed();
  });

  it("moves the next lease to another confirmed account once one became estimated", async () => {
    const { pool } = await setup(
      [account("a", { quota: { fast: bucket(30, 30) } }), account("b", { quota: { fast: bucket(30, 30) } })],
      { concurrencyPerAccount: 0 },
    );
    const l1 = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    const l2 = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    expect(new Set([l1.token, l2.token]).size).toBe(2);
    await l1.succeed();
    await l2.succeed();
  });

  it("keeps the estimate through a re-read of the record and persists it on flush()", async () => {
    const { pool, store } = await setup([account("a", { quota: { fast: bucket(30, 30) } })]);
    const l = await pool.lease({ bucket: "fast", cost: 3, minTier: "basic" });
    await l.succeed();
    expect(store.raw("a").quota["fast"]!.remaining).toBe(30);
    store.mutate("a", (r) => (r.note = "changed elsewhere"));
    await pool.reload(["a"]);
    expect(pool.get("a")).toMatchObject({ note: "changed elsewhere" });
    expect(pool.get("a")!.quota["fast"]!.remaining).toBe(27);
    await pool.flush();
    expect(store.raw("a").quota["fast"]).toMatchObject({ remaining: 27, confidence: "estimated" });
    expect(pool.get("a")!.quota["fast"]!.remaining).toBe(27); // not applied twice
  });

  it("carries the estimate as a delta onto the current stored figure", async () => {
    const { pool, store } = await setup([account("a", { quota: { fast: bucket(30, 30) } })]);
    const l = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    await l.succeed();
    // another process used 5 queries and persisted its own estimate meanwhile
    store.mutate("a", (r) => {
      r.quota["fast"]!.remaining = 25;
      r.quota["fast"]!.confidence = "estimated";
    });
    await pool.update("a", { note: "x" });
    expect(store.raw("a").quota["fast"]!.remaining).toBe(24);
    expect(pool.get("a")!.quota["fast"]!.remaining).toBe(24);
  });

  it("drops estimates older than a newer upstream confirmation", async () => {
    const { pool, store, clock } = await setup([account("a", { quota: { fast: bucket(30, 30) } })]);
    const l = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    await l.succeed();
    clock.advance(1_000);
    await pool.applyQuota("a", [{ mode: "fast", remaining: 29, total: 30, windowSeconds: 86_400, resetAt: null }]);
    expect(store.raw("a").quota["fast"]).toMatchObject({ remaining: 29, confidence: "confirmed" });
    expect(pool.get("a")!.quota["fast"]).toMatchObject({ remaining: 29, confidence: "confirmed" });
  });
});

describe("concurrency cap", () => {
  it("never gives an account more leases than the cap", async () => {
    const { pool } = await setup([account("a"), account("b")], { concurrencyPerAccount: 1 });
    const l1 = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    const l2 = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    expect(new Set([l1.token, l2.token]).size).toBe(2);
    await expect(pool.lease({ bucket: "fast", cost: 1, minTier: "basic" })).rejects.toMatchObject({ reason: "busy", nextAvailableAt: null });
    await l1.release();
    const l3 = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    expect(l3.token).toBe(l1.token);
    await l2.release();
    await l3.release();
  });

  it("moves on to the next candidate when the store refuses a slot", async () => {
    const { pool, store } = await setup([account("a", { lastUsedAt: 1 }), account("b", { lastUsedAt: 2 })]);
    store.refuseSlot = (t) => t === "a";
    const l = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    expect(l.token).toBe("b");
    expect(pool.get("a")!.inFlight).toBe(0);
    await l.release();
    expect(pool.leakCheck()).toBe(0);
  });

  it("enforces the cap across processes sharing one store", async () => {
    const { store, clock } = await setup([account("a")]);
    const p1 = new AccountPool({ store, clock, concurrencyPerAccount: 1 });
    const p2 = new AccountPool({ store, clock, concurrencyPerAccount: 1 });
    await p1.load();
    await p2.load();
    const l1 = await p1.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    await expect(p2.lease({ bucket: "fast", cost: 1, minTier: "basic" })).rejects.toMatchObject({ reason: "busy" });
    expect(p2.leakCheck()).toBe(0);
    await l1.release();
    const l2 = await p2.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    expect(l2.token).toBe("a");
    await l2.release();
    expect(store.heldSlots()).toBe(0);
  });

  it("frees a crashed process's slot after slotTtlMs", async () => {
    const { store, clock } = await setup([account("a")]);
    const crashed = new AccountPool({ store, clock, concurrencyPerAccount: 1, slotTtlMs: 60_000 });
    const alive = new AccountPool({ store, clock, concurrencyPerAccount: 1, slotTtlMs: 60_000 });
    await crashed.load();
    await alive.load();
    await crashed.lease({ bucket: "fast", cost: 1, minTier: "basic" }); // never released
    await expect(alive.lease({ bucket: "fast", cost: 1, minTier: "basic" })).rejects.toMatchObject({ reason: "busy" });
    clock.advance(59_999);
    await expect(alive.lease({ bucket: "fast", cost: 1, minTier: "basic" })).rejects.toMatchObject({ reason: "busy" });
    clock.advance(1);
    const l = await alive.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    await l.release();
  });

  it("takes no store slot when the cap is 0 (unlimited)", async () => {
    const { pool, store } = await setup([account("a")], { concurrencyPerAccount: 0 });
    const leases = await Promise.all(Array.from({ length: 20 }, () => pool.lease({ bucket: "fast", cost: 1, minTier: "basic" })));
    expect(pool.get("a")!.inFlight).toBe(20);
    expect(store.calls.acquireSlot).toBe(0);
    await Promise.all(leases.map((l) => l.release()));
    expect(pool.get("a")!.inFlight).toBe(0);
  });
});
