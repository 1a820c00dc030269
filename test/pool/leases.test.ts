import { describe, expect, it } from "vitest";
import { AccountPool } from "../../src/server/pool/account-pool.js";
import { NoAccountError } from "../../src/server/pool/no-account-error.js";
import { account, bucket, reading, seeded, setup, T0 } from "./helpers.js";
import { MemoryPoolStore } from "./memory-store.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const fast = { bucket: "fast", cost: 1, minTier: "basic" } as const;

describe("lease lifecycle", () => {
  it("release() in finally after an exception frees the local count and the store slot", async () => {
    const { pool, store } = await setup([account("a")], { concurrencyPerAccount: 1 });
    const work = async () => {
      const lease = await pool.lease(fast);
      try {
        expect(pool.get("a")!.inFlight).toBe(1);
        expect(await store.slotCount("a")).toBe(1);
        throw new Error("client went away");
      } finally {
        await lease.release();
      }
    };
    await expect(work()).rejects.toThrow("client went away");
    expect(pool.leakCheck()).toBe(0);
    expect(pool.get("a")!.inFlight).toBe(0);
    expect(store.heldSlots()).toBe(0);
    const again = await pool.lease(fast); // the cap of 1 is free again
    await again.release();
  });

  it("leakCheck() reports a lease nobody settled", async () => {
    const { pool } = await setup([account("a")]);
    const lease = await pool.lease(fast);
    expect(pool.leakCheck()).toBe(1);
    await lease.release();
    expect(pool.leakCheck()).toBe(0);
  });

  it("settles once: release is idempotent, later outcomes are ignored", async () => {
    const { pool, store, logs } = await setup([account("a")]);
    const lease = await pool.lease(fast);
    const p1 = lease.release();
    const p2 = lease.release();
    expect(p2).toBe(p1);
    await p1;
    await lease.succeed();
    await lease.fail("banned", "too late");
    await store.flush();
    expect(store.calls.releaseSlot).toBe(1);
    expect(store.raw("a")).toMatchObject({ status: "active", useCount: 0 });
    expect(pool.get("a")!.inFlight).toBe(0);
    expect(logs.filter((l) => l.msg.includes("outcome ignored"))).toHaveLength(2);
  });

  it("release() after fail() resolves without releasing twice", async () => {
    const { pool, store } = await setup([account("a")]);
    const lease = await pool.lease(fast);
    await lease.fail("timeout", "idle");
    await lease.release();
    expect(store.calls.releaseSlot).toBe(1);
    expect(pool.get("a")!.inFlight).toBe(0);
    expect(store.raw("a").status).toBe("cooling");
  });

  it("succeed() counts the use through recordUsage and applies a quota hint as confirmed", async () => {
    const { pool, store, clock } = await setup([account("a", { quota: { fast: bucket(10, 30) } })]);
    const lease = await pool.lease(fast);
    clock.advance(500);
    await lease.succeed({ quota: [reading("fast", 8, 30)] });
    expect(store.pendingUsage()).toEqual([{ token: "a", uses: 1, lastUsedAt: T0 + 500 }]);
    expect(pool.get("a")).toMatchObject({ useCount: 1, lastUsedAt: T0 + 500 });
    await store.flush();
    expect(store.raw("a")).toMatchObject({ useCount: 1, lastUsedAt: T0 + 500 });
    expect(store.raw("a").quota["fast"]).toMatchObject({ remaining: 8, confidence: "confirmed", syncedAt: T0 + 500 });
  });

  it("the lease's account is a snapshot taken at lease time", async () => {
    const { pool } = await setup([account("a")]);
    const lease = await pool.lease(fast);
    await lease.fail("unauthorized", "401");
    expect(lease.account.status).toBe("active");
    expect(pool.get("a")!.status).toBe("dead");
  });

  it("a failing acquireSlot rejects lease() and leaks nothing", async () => {
    const { pool, store } = await setup([account("a", { quota: { fast: bucket(10, 30) } })]);
    store.failAcquires = 1;
    await expect(pool.lease(fast)).rejects.toThrow("injected acquireSlot failure");
    expect(pool.leakCheck()).toBe(0);
    expect(pool.get("a")).toMatchObject({ inFlight: 0 });
    expect(pool.get("a")!.quota["fast"]!.remaining).toBe(10);
  });

  it("a failing store write does not make fail() reject; the slot is still released", async () => {
    const { pool, store, logs } = await setup([account("a")]);
    const lease = await pool.lease(fast);
    store.failUpdates = 1;
    await expect(lease.fail("unauthorized", "401")).resolves.toBeUndefined();
    expect(store.heldSlots()).toBe(0);
    expect(pool.leakCheck()).toBe(0);
    expect(logs.some((l) => l.level === "error" && l.msg.includes("could not persist"))).toBe(true);
  });

  it("a lease of an account removed meanwhile still settles cleanly", async () => {
    const { pool, store } = await setup([account("a"), account("b")]);
    const lease = await pool.lease({ ...fast, exclude: new Set(["b"]) });
    expect(await pool.remove(["a"])).toBe(1);
    await lease.fail("unauthorized", "401");
    expect(pool.leakCheck()).toBe(0);
    expect(pool.get("a")).toBeUndefined();
    expect(store.records.has("a")).toBe(false);
  });

  it("settling a lease of a removed account does not touch the account that took over its slot", async () => {
    const { pool } = await setup([account("a", { lastUsedAt: 1 }), account("b"), account("c", { quota: { fast: bucket(5, 30) } })], { concurrencyPerAccount: 1 });
    const la = await pool.lease({ ...fast, exclude: new Set(["b", "c"]) });
    const lb = await pool.lease({ ...fast, exclude: new Set(["a", "c"]) });
    await pool.remove(["a"]); // c moves into a's slot
    expect(pool.get("c")).toMatchObject({ inFlight: 0 });
    expect(pool.get("c")!.quota["fast"]!.remaining).toBe(5);
    await la.fail("timeout", "late");
    expect(pool.get("c")).toMatchObject({ inFlight: 0, status: "active" });
    expect(pool.get("b")).toMatchObject({ inFlight: 1 });
    // c still ranks by its own figures: the only one with confirmed quota, and not busy
    const lc = await pool.lease(fast);
    expect(lc.token).toBe("c");
    await expect(pool.lease(fast)).rejects.toMatchObject({ reason: "busy" });
    await lb.release();
    await lc.release();
    expect(pool.leakCheck()).toBe(0);
    expect(pool.stats()).toMatchObject({ total: 2, inFlight: 0 });
  });

  it("does not hand out an account that died while its slot was being acquired", async () => {
    const { pool, store } = await setup([account("a", { lastUsedAt: 1 }), account("b", { lastUsedAt: 2 })], { concurrencyPerAccount: 2 });
    const first = await pool.lease(fast);
    expect(first.token).toBe("a");
    // a second lease of a (b excluded) is acquiring its slot while a dies
    const pending = pool.lease({ ...fast, exclude: new Set(["b"]) });
    await first.fail("banned", "User is blocked");
    const err = await pending.catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "excluded", counts: { dead: 1, excluded: 1 } });
    expect(pool.leakCheck()).toBe(0);
    await pool.whenIdle();
    expect(store.heldSlots()).toBe(0);
  });
});

describe("acceptance: 200 concurrent requests over 10 accounts, cap 2", () => {
  it("never exceeds the cap, spreads the load, completes everything and leaks nothing", async () => {
    const random = seeded(7);
    const store = new MemoryPoolStore({
      // random store latency so acquireSlot/releaseSlot interleave with other requests
      latency: () => (random() < 0.5 ? Promise.resolve() : new Promise((r) => setImmediate(r))),
    });
    const tokens = Array.from({ length: 10 }, (_, i) => `acct-${String(i).padStart(2, "0")}`);
    await store.putAccounts(tokens.map((t, i) => account(t, { quota: i % 2 === 0 ? { fast: bucket(1_000, 1_000) } : {} })));
    const pool = new AccountPool({ store, concurrencyPerAccount: 2, random: seeded(11) });
    await pool.load();

    const current = new Map<string, number>();
    const max = new Map<string, number>();
    const served = new Map<string, number>();
    let busyRetries = 0;
    let poolViewMax = 0;

    const one = async (): Promise<void> => {
      for (;;) {
        let lease;
        try {
          lease = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
        } catch (err) {
          if (err instanceof NoAccountError && err.reason === "busy") {
            busyRetries++;
            await sleep(random() * 2);
            continue;
          }
          throw err;
        }
        try {
          const n = (current.get(lease.token) ?? 0) + 1;
          current.set(lease.token, n);
          max.set(lease.token, Math.max(max.get(lease.token) ?? 0, n));
          poolViewMax = Math.max(poolViewMax, pool.get(lease.token)!.inFlight, await store.slotCount(lease.token));
          await sleep(random() * 5);
          current.set(lease.token, current.get(lease.token)! - 1);
          served.set(lease.token, (served.get(lease.token) ?? 0) + 1);
          await lease.succeed();
        } finally {
          await lease.release();
        }
        return;
      }
    };

    await Promise.all(Array.from({ length: 200 }, () => one()));
    await pool.whenIdle();
    await store.flush();

    const distribution = Object.fromEntries(tokens.map((t) => [t, served.get(t) ?? 0]));
    console.log(`[pool acceptance] served per account: ${JSON.stringify(distribution)}; max in flight: ${Math.max(...max.values())}; busy retries: ${busyRetries}`);

    expect([...served.values()].reduce((a, b) => a + b, 0)).toBe(200);
    for (const t of tokens) {
      expect(max.get(t) ?? 0).toBeLessThanOrEqual(2);
      expect(served.get(t) ?? 0).toBeGreaterThanOrEqual(10);
    }
    expect(poolViewMax).toBeLessThanOrEqual(2);
    expect(pool.leakCheck()).toBe(0);
    expect(store.heldSlots()).toBe(0);
    expect(pool.stats().inFlight).toBe(0);
    expect(tokens.reduce((n, t) => n + store.raw(t).useCount, 0)).toBe(200);
  });
});
