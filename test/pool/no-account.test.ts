import { describe, expect, it } from "vitest";
import type { LeaseRequest } from "../../src/server/pool/api.js";
import { NoAccountError } from "../../src/server/pool/no-account-error.js";
import type { AccountRecord } from "../../src/server/core/account.js";
import { account, bucket, setup, T0 } from "./helpers.js";

async function failure(records: AccountRecord[], req: Partial<LeaseRequest> = {}, cap = 4): Promise<NoAccountError> {
  const { pool } = await setup(records, { concurrencyPerAccount: cap });
  const err = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic", ...req }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NoAccountError);
  expect(pool.leakCheck()).toBe(0);
  return err as NoAccountError;
}

const cooling = (t: string, until: number) => account(t, { status: "cooling", statusReason: "timeout", cooldownUntil: until });
const exhausted = (t: string, resetAt: number | null) => account(t, { quota: { fast: bucket(0, 30, { resetAt }) } });

describe("NoAccountError reasons", () => {
  it("empty: no accounts at all", async () => {
    const e = await failure([]);
    expect(e).toMatchObject({ reason: "empty", nextAvailableAt: null, retryAfterMs: null });
    expect(e.message).toMatch(/add grok\.com SSO tokens/);
  });

  it("tier: no account of a sufficient tier", async () => {
    const e = await failure([account("b1"), account("b2")], { minTier: "super", bucket: "expert" });
    expect(e).toMatchObject({ reason: "tier", minTier: "super", bucket: "expert" });
  });

  it("all_dead: every sufficient-tier account dead or disabled (lower tiers do not count)", async () => {
    const e = await failure(
      [account("d", { status: "dead" }, "super"), account("x", { status: "disabled" }, "heavy"), account("b")],
      { minTier: "super" },
    );
    expect(e).toMatchObject({ reason: "all_dead", nextAvailableAt: null });
    expect(e.counts).toMatchObject({ tierOk: 2, dead: 2 });
  });

  it("all_cooling: the rest cooling → earliest cooldown end", async () => {
    const e = await failure([account("d", { status: "dead" }), cooling("c1", T0 + 90_000), cooling("c2", T0 + 30_000)]);
    expect(e).toMatchObject({ reason: "all_cooling", nextAvailableAt: T0 + 30_000, retryAfterMs: 30_000 });
    expect(e.message).toContain(new Date(T0 + 30_000).toISOString());
  });

  it("quota: the rest exhausted (or cooling) → earliest reset", async () => {
    const e = await failure([exhausted("q1", T0 + 50_000), exhausted("q2", T0 + 20_000), cooling("c", T0 + 40_000)]);
    expect(e).toMatchObject({ reason: "quota", nextAvailableAt: T0 + 20_000, retryAfterMs: 20_000 });
  });

  it("quota with unknown reset times → nextAvailableAt null", async () => {
    const e = await failure([exhausted("q1", null)]);
    expect(e).toMatchObject({ reason: "quota", nextAvailableAt: null, retryAfterMs: null });
  });

  it("a cooling account that is also exhausted counts from the later of both", async () => {
    const e = await failure([account("a", { status: "cooling", cooldownUntil: T0 + 10_000, quota: { fast: bucket(0, 30, { resetAt: T0 + 80_000 }) } })]);
    expect(e).toMatchObject({ reason: "all_cooling", nextAvailableAt: T0 + 80_000 });
  });

  it("busy: the usable ones are at their concurrency cap; cooling times still reported", async () => {
    const { pool } = await setup([account("a"), cooling("c", T0 + 5_000)], { concurrencyPerAccount: 1 });
    const held = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    const err = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "busy", nextAvailableAt: T0 + 5_000 });
    await held.release();
  });

  it("excluded: everything usable was already tried", async () => {
    const e = await failure([account("a"), account("b"), cooling("c", T0 + 1_000)], { exclude: new Set(["a", "b"]) });
    expect(e).toMatchObject({ reason: "excluded", nextAvailableAt: T0 + 1_000 });
    expect(e.counts).toMatchObject({ excluded: 2, cooling: 1 });
  });

  it("precedence: busy before excluded", async () => {
    const { pool } = await setup([account("a"), account("b")], { concurrencyPerAccount: 1 });
    const held = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic", exclude: new Set(["b"]) });
    expect(held.token).toBe("a");
    const err = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic", exclude: new Set(["b"]) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "busy" });
    await held.release();
  });

  it("precedence: dead accounts do not hide a cooling one (all_cooling, not all_dead)", async () => {
    const e = await failure([account("d1", { status: "dead" }), account("d2", { status: "dead" }), cooling("c", T0 + 1_000)]);
    expect(e.reason).toBe("all_cooling");
  });

  it("a cooling account becomes usable again instead of an error once the time has come", async () => {
    const { pool, clock } = await setup([cooling("c", T0 + 1_000)]);
    await expect(pool.lease({ bucket: "fast", cost: 1, minTier: "basic" })).rejects.toMatchObject({ reason: "all_cooling" });
    clock.advance(1_000);
    const l = await pool.lease({ bucket: "fast", cost: 1, minTier: "basic" });
    await l.release();
  });
});

describe("lease request validation", () => {
  it("rejects a negative or non-finite cost and an unknown tier", async () => {
    const { pool } = await setup([account("a")]);
    await expect(pool.lease({ bucket: "fast", cost: -1, minTier: "basic" })).rejects.toThrow(TypeError);
    await expect(pool.lease({ bucket: "fast", cost: Number.NaN, minTier: "basic" })).rejects.toThrow(TypeError);
    await expect(pool.lease({ bucket: "fast", cost: 1, minTier: "ultra" as never })).rejects.toThrow(TypeError);
  });
});
