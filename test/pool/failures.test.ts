import { describe, expect, it } from "vitest";
import type { Lease } from "../../src/server/pool/api.js";
import { MAX_FAILURE_NOTES, type FailureKind } from "../../src/server/core/account.js";
import { account, bucket, setup, T0 } from "./helpers.js";

const lease = (pool: { lease: (r: { bucket: string; cost: number; minTier: "basic" }) => Promise<Lease> }, b = "fast") =>
  pool.lease({ bucket: b, cost: 1, minTier: "basic" });

describe("rate_limited", () => {
  it("exhausts only that bucket until the reported reset, then it comes back by itself", async () => {
    const { pool, store, clock } = await setup([
      account("a", { quota: { fast: bucket(10, 30), expert: bucket(5, 5) } }),
    ]);
    const l = await lease(pool);
    await l.fail("rate_limited", "Too many requests", { resetAt: T0 + 120_000 });
    const stored = store.raw("a");
    expect(stored.status).toBe("active");
    expect(stored.quota["fast"]).toMatchObject({ remaining: 0, resetAt: T0 + 120_000, confidence: "confirmed" });
    expect(stored.failures.at(-1)).toMatchObject({ kind: "rate_limited", message: "Too many requests", at: T0 });
    await expect(lease(pool)).rejects.toMatchObject({ reason: "quota", nextAvailableAt: T0 + 120_000, retryAfterMs: 120_000 });
    const other = await lease(pool, "expert");
    expect(other.token).toBe("a");
    await other.release();
    clock.advance(120_000);
    const back = await lease(pool);
    expect(back.token).toBe("a");
    expect(back.account.quota["fast"]).toMatchObject({ remaining: 29, confidence: "estimated" });
    await back.release();
  });

  it("uses retryAfterMs when no reset time is given", async () => {
    const { pool, store } = await setup([account("a", { quota: { fast: bucket(10, 30) } })]);
    await (await lease(pool)).fail("rate_limited", "429", { retryAfterMs: 7_000 });
    expect(store.raw("a").quota["fast"]!.resetAt).toBe(T0 + 7_000);
  });

  it("backs off 60 s, doubling per consecutive rate limit, capped at 1 h, reset by a success", async () => {
    const { pool, store, clock } = await setup([account("a", { quota: { fast: bucket(10, 30) } })]);
    const expected = [60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000];
    for (const ms of expected) {
      const l = await lease(pool);
      await l.fail("rate_limited", "429");
      const now = clock.now();
      expect(store.raw("a").quota["fast"]!.resetAt).toBe(now + ms);
      clock.advance(ms);
    }
    const ok = await lease(pool);
    await ok.succeed();
    clock.advance(1);
    await (await lease(pool)).fail("rate_limited", "429");
    expect(store.raw("a").quota["fast"]!.resetAt).toBe(clock.now() + 60_000);
  });

  it("cools the whole account when the bucket is unknown, and never marks it dead", async () => {
    const { pool, store, clock } = await setup([account("a")]);
    await (await lease(pool)).fail("rate_limited", "Too many requests");
    expect(store.raw("a")).toMatchObject({ status: "cooling", cooldownUntil: T0 + 60_000 });
    expect(store.raw("a").statusReason).toMatch(/^rate limited/);
    await expect(lease(pool)).rejects.toMatchObject({ reason: "all_cooling", nextAvailableAt: T0 + 60_000 });
    clock.advance(60_000);
    const l = await lease(pool);
    expect(l.token).toBe("a");
    await l.release();
  });
});

describe("dead accounts", () => {
  it("unauthorized → dead with the reason, durably before fail() resolves", async () => {
    const { pool, store } = await setup([account("a"), account("b")]);
    const l = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic", exclude: new Set(["b"]) });
    await l.fail("unauthorized", "No credentials presented");
    expect(store.raw("a")).toMatchObject({ status: "dead", statusReason: "logged out / cookie expired (401): No credentials presented", statusAt: T0, cooldownUntil: null });
    expect(pool.get("a")).toMatchObject({ status: "dead", effectiveStatus: "dead", usable: false });
  });

  it("banned → dead with the upstream message", async () => {
    const { pool, store } = await setup([account("a")]);
    await (await lease(pool)).fail("banned", "User is blocked [WKE=unauthorized:blocked-user]");
    expect(store.raw("a").statusReason).toBe("banned: User is blocked [WKE=unauthorized:blocked-user]");
  });

  it("stays dead however much time passes, until markHealthy (failures kept)", async () => {
    const { pool, store, clock } = await setup([account("a")]);
    await (await lease(pool)).fail("unauthorized", "");
    for (const ms of [60_000, 3_600_000, 7 * 86_400_000]) {
      clock.advance(ms);
      await expect(lease(pool)).rejects.toMatchObject({ reason: "all_dead", nextAvailableAt: null });
    }
    await pool.markHealthy("a");
    expect(store.raw("a")).toMatchObject({ status: "active", statusReason: "" });
    expect(store.raw("a").failures).toHaveLength(1);
    const l = await lease(pool);
    expect(l.token).toBe("a");
    await l.release();
  });

  it("a later cooldown does not overwrite dead; dead does not overwrite disabled", async () => {
    const { pool, store } = await setup([account("a"), account("off", { status: "disabled" })], { concurrencyPerAccount: 2 });
    const l1 = await lease(pool);
    const l2 = await lease(pool);
    await l1.fail("banned", "User is blocked");
    await l2.fail("timeout", "first byte");
    expect(store.raw("a").status).toBe("dead");
    expect(store.raw("a").failures.map((f) => f.kind)).toEqual(["banned", "timeout"]);
    await pool.update("off", { disabled: false });
    const l3 = await lease(pool);
    expect(l3.token).toBe("off");
    await pool.update("off", { disabled: true });
    await l3.fail("unauthorized", "401");
    expect(store.raw("off").status).toBe("disabled");
  });
});

describe("failures that do not blame the account", () => {
  for (const kind of ["anti_bot", "cloudflare", "network"] as FailureKind[]) {
    it(`${kind} → no status change, failure note and failCount`, async () => {
      const { pool, store } = await setup([account("a", { quota: { fast: bucket(10, 30) } })]);
      await (await lease(pool)).fail(kind, `${kind} happened`);
      await store.flush();
      const r = store.raw("a");
      expect(r.status).toBe("active");
      expect(r.cooldownUntil).toBeNull();
      expect(r.failures).toEqual([{ at: T0, kind, message: `${kind} happened` }]);
      expect(r.failCount).toBe(1);
      expect(pool.get("a")!.failCount).toBe(1);
      const again = await lease(pool);
      expect(again.token).toBe("a");
      await again.release();
    });
  }

  it("anti_bot and cloudflare give the local quota decrement back; network does not", async () => {
    const { pool } = await setup([account("a", { quota: { fast: bucket(10, 30) } })]);
    await (await lease(pool)).fail("anti_bot", "code 7");
    expect(pool.get("a")!.quota["fast"]!.remaining).toBe(10);
    await (await lease(pool)).fail("cloudflare", "Just a moment");
    expect(pool.get("a")!.quota["fast"]!.remaining).toBe(10);
    await (await lease(pool)).fail("network", "ECONNRESET");
    expect(pool.get("a")!.quota["fast"]!.remaining).toBe(9);
  });

  it("request → no side effect at all", async () => {
    const { pool, store } = await setup([account("a")]);
    const writes = store.calls.updateAccount;
    await (await lease(pool)).fail("request", "content-moderated");
    await store.flush();
    expect(store.calls.updateAccount).toBe(writes);
    expect(store.raw("a")).toMatchObject({ status: "active", failures: [], failCount: 0 });
  });
});

describe("short cooldowns", () => {
  const cases: [FailureKind, number, RegExp][] = [
    ["upstream_error", 30_000, /^upstream error: /],
    ["timeout", 30_000, /^timeout: /],
    ["empty", 60_000, /^empty response: /],
  ];
  for (const [kind, ms, reason] of cases) {
    it(`${kind} → cooling for ${ms / 1000} s, then active again`, async () => {
      const { pool, store, clock } = await setup([account("a")]);
      await (await lease(pool)).fail(kind, "boom");
      expect(store.raw("a")).toMatchObject({ status: "cooling", cooldownUntil: T0 + ms });
      expect(store.raw("a").statusReason).toMatch(reason);
      clock.advance(ms - 1);
      await expect(lease(pool)).rejects.toMatchObject({ reason: "all_cooling", nextAvailableAt: T0 + ms, retryAfterMs: 1 });
      clock.advance(1);
      const l = await lease(pool);
      await l.succeed();
      await pool.whenIdle();
      expect(store.raw("a").status).toBe("active");
    });
  }

  it("honours configured cooldowns", async () => {
    const { pool, store } = await setup([account("a")], { cooldowns: { upstream_error: 5_000, empty: 1_000 } });
    await (await lease(pool)).fail("upstream_error", "502");
    expect(store.raw("a").cooldownUntil).toBe(T0 + 5_000);
  });
});

describe("failure notes", () => {
  it(`keeps the newest ${MAX_FAILURE_NOTES}, newest last, and counts every failure`, async () => {
    const { pool, store, clock } = await setup([account("a")]);
    for (let i = 0; i < MAX_FAILURE_NOTES + 5; i++) {
      clock.advance(1);
      await (await lease(pool)).fail("network", `n${i}`);
    }
    await store.flush();
    const r = store.raw("a");
    expect(r.failures).toHaveLength(MAX_FAILURE_NOTES);
    expect(r.failures[0]!.message).toBe("n5");
    expect(r.failures.at(-1)!.message).toBe(`n${MAX_FAILURE_NOTES + 4}`);
    expect(r.failCount).toBe(MAX_FAILURE_NOTES + 5);
  });

  it("applies the reaction to the current stored record (no lost update)", async () => {
    const { pool, store } = await setup([account("a")]);
    const l = await lease(pool);
    store.mutate("a", (r) => {
      r.note = "set by another process";
      r.tags = ["x"];
    });
    await l.fail("timeout", "idle");
    expect(store.raw("a")).toMatchObject({ status: "cooling", note: "set by another process", tags: ["x"] });
    expect(pool.get("a")!.note).toBe("set by another process");
  });
});
