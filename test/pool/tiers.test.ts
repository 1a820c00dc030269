import { describe, expect, it } from "vitest";
import { chatModesFor, detectTier, tierFromLegacyPool } from "../../src/server/pool/tiers.js";
import type { Tier } from "../../src/server/core/account.js";
import { account, bucket, reading, setup } from "./helpers.js";

const totals = (t: Record<string, number>) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { total: v }]));

describe("detectTier (§10.4)", () => {
  const cases: [Record<string, number>, Tier | null][] = [
    [{ auto: 7 }, "basic"],
    [{ auto: 20 }, "basic"],
    [{ auto: 50 }, "super"],
    [{ auto: 150 }, "heavy"],
    [{ fast: 30 }, "basic"],
    [{ fast: 140 }, "super"],
    [{ fast: 400 }, "heavy"],
    [{ heavy: 1 }, "heavy"],
    [{ fast: 140, auto: 50, expert: 50 }, "super"],
    [{ fast: 400, auto: 150, heavy: 20 }, "heavy"],
    [{ fast: 400, auto: 50 }, "super"], // conflicting → the lower
    [{ fast: 30, heavy: 5 }, "basic"],
    [{ expert: 50 }, null], // no signal
    [{}, null],
    [{ fast: 0, auto: 0 }, null],
  ];
  for (const [t, want] of cases) {
    it(`${JSON.stringify(t)} → ${want}`, () => expect(detectTier(totals(t))).toBe(want));
  }

  it("ignores unknown totals", () => {
    expect(detectTier({ fast: { total: null }, auto: { total: 50 } })).toBe("super");
  });
});

describe("tier detection in the pool", () => {
  it("detects the tier from synced totals while tierSource is detected", async () => {
    const { pool, store } = await setup([account("a", { tierSource: "detected" })]);
    await pool.applyQuota("a", [reading("fast", 140, 140), reading("auto", 50, 50)]);
    expect(store.raw("a")).toMatchObject({ tier: "super", tierSource: "detected" });
    expect(pool.get("a")!.quota["fast"]).toMatchObject({ remaining: 140, total: 140, confidence: "confirmed", syncedAt: pool.get("a")!.quota["fast"]!.syncedAt });
  });

  it("keeps the current tier when the readings carry no tier signal", async () => {
    const { pool, store } = await setup([account("a", { tierSource: "detected" }, "super")]);
    await pool.applyQuota("a", [reading("image_pro", 2, 10)]);
    expect(store.raw("a").tier).toBe("super");
  });

  for (const source of ["manual", "imported"] as const) {
    it(`never overrides a ${source} tier`, async () => {
      const { pool, store } = await setup([account("a", { tierSource: source }, "super")]);
      await pool.applyQuota("a", [reading("fast", 30, 30), reading("auto", 7, 7)]);
      expect(store.raw("a")).toMatchObject({ tier: "super", tierSource: source });
    });
  }

  it("update(tier) sets a manual tier; update(tier: auto) returns to detection", async () => {
    const { pool, store } = await setup([account("a", { tierSource: "detected", quota: { fast: bucket(30, 30), auto: bucket(7, 7) } })]);
    const v = await pool.update("a", { tier: "heavy" });
    expect(v).toMatchObject({ tier: "heavy", tierSource: "manual" });
    const w = await pool.update("a", { tier: "auto" });
    expect(w).toMatchObject({ tier: "basic", tierSource: "detected" });
    expect(store.raw("a")).toMatchObject({ tier: "basic", tierSource: "detected" });
  });

  it("maps the original's sso/ssoSuper pools", () => {
    expect(tierFromLegacyPool("sso")).toBe("basic");
    expect(tierFromLegacyPool("ssoSuper")).toBe("super");
  });

  it("asks for every chat mode while detecting, and for the tier's modes otherwise", () => {
    expect(chatModesFor({ tier: "basic", tierSource: "detected" })).toEqual(["fast", "auto", "expert", "heavy"]);
    expect(chatModesFor({ tier: "basic", tierSource: "manual" })).toEqual(["fast", "auto"]);
    expect(chatModesFor({ tier: "super", tierSource: "imported" })).toEqual(["fast", "auto", "expert"]);
    expect(chatModesFor({ tier: "heavy", tierSource: "manual" })).toEqual(["fast", "auto", "expert", "heavy"]);
  });
});
